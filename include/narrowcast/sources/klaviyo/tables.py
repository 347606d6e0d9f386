"""The Klaviyo source declares its raw table (sign-up events of Klaviyo's subscription metrics) and how it loads.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from datetime import timedelta

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import EntitySpec, SourceSpec, text_columns
from narrowcast.sources.klaviyo.settings import LOOKBACK_HOURS, SIGNUP_METRICS

# An event never changes once recorded: a re-read window merges the same rows on the event id.
KLAVIYO_SUBSCRIPTION_EVENTS = EntitySpec(
    "klaviyo_subscription_events",
    {
        **text_columns("event_id", "metric_id", "metric_name", "profile_id", "email", "list_name"),
        "subscribed_at": "TIMESTAMP",
    },
    key=("event_id",),
    required=("metric_name", "subscribed_at"),
    not_null=("metric_name", "subscribed_at"),
    not_future=("subscribed_at",),
    accepted_values={"metric_name": SIGNUP_METRICS},
    personal=("email",),
    subject_email="email",
    notes={"metric_name": "the Klaviyo metric of the event: " + " or ".join(SIGNUP_METRICS),
           "email": "the profile's e-mail as Klaviyo holds it (personal); null for a profile without one",
           "list_name": "the list subscribed to (event property List); null when the event names none",
           "subscribed_at": "the event's datetime (UTC)"},
)

SOURCE = SourceSpec(
    "klaviyo",
    connection_pages("narrowcast.sources.klaviyo.extract:extract"),
    (KLAVIYO_SUBSCRIPTION_EVENTS,),
    lookback=timedelta(hours=LOOKBACK_HOURS),
    catch_up_step=timedelta(days=7),  # a week of sign-ups is a few pages
    connection_id="narrowcast_klaviyo",
)

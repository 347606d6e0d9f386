"""Klaviyo constants of the sign-up source.

Klaviyo records a sign-up as an event of one of its own metrics: "Subscribed to List" when a profile subscribes to
a list it was not subscribed to (a Klaviyo sign-up form after double opt-in, Quick Add or a CSV upload with
consent, Klaviyo-built integrations; help.klaviyo.com "Understanding the Subscribed to List metric"; its
event_properties carry the list's name as ``List``), and "Subscribed to Email Marketing" when the profile's
e-mail consent becomes subscribed. Both are metrics of the "Klaviyo" integration, found with Get Metrics'
``integration.name`` filter (the only metric filters it documents besides ``integration.category``).
"""

SIGNUP_METRICS = ("Subscribed to Email Marketing", "Subscribed to List")
METRIC_INTEGRATION = "Klaviyo"
# get_events: page[size] "Default: 200. Min: 1. Max: 1000." from revision 2026-07-15; earlier revisions return at
# most 200 per page, so 200 works on every revision a connection may pin.
PAGE_SIZE = 200
# Sign-ups happen in a browser and reach Klaviyo's event store after it: re-read the last hour of the previous
# window (rows merge on the event id, so a re-read changes nothing).
LOOKBACK_HOURS = 1

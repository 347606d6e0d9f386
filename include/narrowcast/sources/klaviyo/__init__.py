"""Klaviyo source: newsletter sign-ups made in Klaviyo (sign-up forms, Quick Add, integrations), read as the
account's subscription events.

Connection ``narrowcast_klaviyo`` (the destination's: ``base_url``, ``password`` = a private API key, which needs
the ``metrics:read`` and ``events:read`` scopes for this source; extra ``revision``). The ids of the sign-up
metrics come from ``GET /api/metrics``; their events from ``GET /api/events`` by event datetime, merged on the
event id.
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "KlaviyoEventsClient"]
__getattr__ = lazy_exports(__name__, {"KlaviyoEventsClient": "client", "ENTITIES": "extract", "extract": "extract"})

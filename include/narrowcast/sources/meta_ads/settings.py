"""Meta Marketing API (Insights) constants."""

CONN_ID = "narrowcast_meta"
DEFAULT_API_VERSION = "v21.0"
PAGE_LIMIT = 500
INSIGHT_FIELDS = (
    "account_id", "account_currency", "campaign_id", "campaign_name", "date_start", "date_stop",
    "impressions", "clicks", "spend", "actions", "action_values",
)
# Purchases are reported under several action types that count the same conversions; the first one present
# wins, so they are never added together.
PURCHASE_ACTION_TYPES = ("offsite_conversion.fb_pixel_purchase", "purchase", "omni_purchase")
# Graph error codes that mean "slow down" (app, user, ad-account and Business-Use-Case limits): retriable.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009,
                              80014})
# "Unknown error" / "service temporarily unavailable": transient by Meta's own description.
TRANSIENT_CODES = frozenset({1, 2})

"""Meta Marketing API (Insights) constants of the ads source."""

PAGE_LIMIT = 500
INSIGHT_FIELDS = (
    "account_id", "account_currency", "campaign_id", "campaign_name", "date_start", "date_stop",
    "impressions", "clicks", "spend", "actions", "action_values",
)
# Purchases are reported under several action types that count the same conversions; the first one present
# wins, so they are never added together.
PURCHASE_ACTION_TYPES = ("offsite_conversion.fb_pixel_purchase", "purchase", "omni_purchase")

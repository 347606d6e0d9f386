"""Google Ads API (GoogleAdsService.SearchStream) constants."""

CONN_ID = "narrowcast_google_ads"
DEFAULT_API_VERSION = "v18"
# gRPC statuses that mean "try again later" (the HTTP status may also say 429/5xx).
RETRIABLE_STATUSES = frozenset({"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED"})
CAMPAIGN_STATS_QUERY = (
    "SELECT campaign.id, campaign.name, segments.date, metrics.impressions, metrics.clicks, "
    "metrics.cost_micros, metrics.conversions, metrics.conversions_value "
    "FROM campaign WHERE segments.date BETWEEN '{since}' AND '{until}' ORDER BY segments.date"
)

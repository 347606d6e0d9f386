"""Google Ads API (GoogleAdsService.SearchStream) constants of the ads source."""

CAMPAIGN_STATS_QUERY = (
    "SELECT campaign.id, campaign.name, segments.date, metrics.impressions, metrics.clicks, "
    "metrics.cost_micros, metrics.conversions, metrics.conversions_value "
    "FROM campaign WHERE segments.date BETWEEN '{since}' AND '{until}' ORDER BY segments.date"
)

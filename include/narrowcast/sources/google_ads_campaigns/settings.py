"""GAQL queries of the Google Ads campaign-metadata source.

Field names and enum values follow googleapis google/ads/googleads/v22: resources/campaign.proto
(``advertising_channel_type``, ``advertising_channel_sub_type``, ``bidding_strategy_type``),
enums/advertising_channel_type.proto (SEARCH, DISPLAY, SHOPPING, HOTEL, VIDEO, MULTI_CHANNEL, LOCAL, SMART,
PERFORMANCE_MAX, LOCAL_SERVICES, TRAVEL, DEMAND_GEN), enums/bidding_strategy_type.proto, and
resources/campaign_criterion.proto with enums/criterion_type.proto (USER_LIST: a remarketing or Customer Match
list, ``campaign_criterion.user_list.user_list`` its resource name; ``negative`` excludes it).
"""

CAMPAIGNS_QUERY = (
    "SELECT campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type, "
    "campaign.advertising_channel_sub_type, campaign.bidding_strategy_type FROM campaign "
    "WHERE campaign.status != 'REMOVED' ORDER BY campaign.id"
)
USER_LIST_CRITERIA_QUERY = (
    "SELECT campaign.id, campaign_criterion.criterion_id, campaign_criterion.type, campaign_criterion.negative, "
    "campaign_criterion.status, campaign_criterion.user_list.user_list FROM campaign_criterion "
    "WHERE campaign_criterion.type = 'USER_LIST' ORDER BY campaign.id"
)

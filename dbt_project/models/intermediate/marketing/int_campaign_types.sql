{#- One row per (platform, campaign_id) of every campaign an ad platform reports spend or settings for, with its
    campaign type from the seed campaign_type_rules: each campaign's attributes (one row per attribute value)
    are matched against the rules and the lowest-priority match wins. A campaign no rule matches keeps the seed
    campaign_types' fallback type (is_unclassified) with is_classified false: flagged, never dropped. Each CTE
    reading a platform's staging models tags its rows with that platform's spend model, and the seed
    ad_platforms names the platform (as int_ad_spend_daily does). -#}
with

spend as (
    select * from {{ ref('int_ad_spend_daily') }}
),

meta_campaigns as (
    select * from {{ ref('stg_meta_ads__campaigns') }}
),

meta_ad_sets as (
    select * from {{ ref('stg_meta_ads__ad_sets') }}
),

google_campaigns as (
    select * from {{ ref('stg_google_ads__campaigns') }}
),

google_criteria as (
    select * from {{ ref('stg_google_ads__campaign_criteria') }}
),

ad_platforms as (
    select * from {{ ref('ad_platforms') }}
),

rules as (
    select * from {{ ref('campaign_type_rules') }}
),

campaign_type_seed as (
    select * from {{ ref('campaign_types') }}
),

-- The latest name the spend reports give each campaign.
spend_names as (
    select
        platform,
        account_id,
        campaign_id,
        campaign_name,
        row_number() over (partition by platform, campaign_id order by date_day desc) as name_order
    from spend
),

meta_platform as (
    select platform
    from ad_platforms
    where spend_model = 'stg_meta_ads__campaign_insights'
),

google_platform as (
    select platform
    from ad_platforms
    where spend_model = 'stg_google_ads__campaign_stats'
),

-- Meta: the objective, whether any ad set targets a custom audience, and each ad set's audience names.
meta_audience_flags as (
    select
        campaign_id,
        max(case when custom_audience_ids is not null then 1 else 0 end) as targets_custom_audience
    from meta_ad_sets
    group by campaign_id
),

meta_attributes as (
    select
        meta_platform.platform,
        meta_campaigns.campaign_id,
        'objective' as field,
        meta_campaigns.objective as attribute_value
    from meta_campaigns
    cross join meta_platform
    union all
    select
        meta_platform.platform,
        meta_audience_flags.campaign_id,
        'targets_custom_audience' as field,
        case when meta_audience_flags.targets_custom_audience = 1 then 'true' else 'false' end as attribute_value
    from meta_audience_flags
    cross join meta_platform
    union all
    select
        meta_platform.platform,
        meta_ad_sets.campaign_id,
        'custom_audience_names' as field,
        meta_ad_sets.custom_audience_names as attribute_value
    from meta_ad_sets
    cross join meta_platform
    where meta_ad_sets.custom_audience_names is not null
),

-- Google Ads: channel type, sub-type, bidding, and whether an enabled criterion targets a user list.
google_user_lists as (
    select
        campaign_id,
        max(case when not is_negative and status <> 'REMOVED' then 1 else 0 end) as targets_user_list
    from google_criteria
    group by campaign_id
),

google_attributes as (
    select
        google_platform.platform,
        google_campaigns.campaign_id,
        'advertising_channel_type' as field,
        google_campaigns.advertising_channel_type as attribute_value
    from google_campaigns
    cross join google_platform
    union all
    select
        google_platform.platform,
        google_campaigns.campaign_id,
        'advertising_channel_sub_type' as field,
        google_campaigns.advertising_channel_sub_type as attribute_value
    from google_campaigns
    cross join google_platform
    union all
    select
        google_platform.platform,
        google_campaigns.campaign_id,
        'bidding_strategy_type' as field,
        google_campaigns.bidding_strategy_type as attribute_value
    from google_campaigns
    cross join google_platform
    union all
    select
        google_platform.platform,
        google_campaigns.campaign_id,
        'targets_user_list' as field,
        case when google_user_lists.targets_user_list = 1 then 'true' else 'false' end as attribute_value
    from google_campaigns
    cross join google_platform
    left join google_user_lists on google_campaigns.campaign_id = google_user_lists.campaign_id
),

-- Every campaign known from spend or settings, with its latest name (settings first: they are current).
known_campaigns as (
    select
        platform,
        account_id,
        campaign_id,
        campaign_name,
        2 as name_source
    from spend_names
    where name_order = 1
    union all
    select
        meta_platform.platform,
        meta_campaigns.account_id,
        meta_campaigns.campaign_id,
        meta_campaigns.campaign_name,
        1 as name_source
    from meta_campaigns
    cross join meta_platform
    union all
    select
        google_platform.platform,
        google_campaigns.account_id,
        google_campaigns.campaign_id,
        google_campaigns.campaign_name,
        1 as name_source
    from google_campaigns
    cross join google_platform
),

campaigns as (
    select
        platform,
        account_id,
        campaign_id,
        campaign_name,
        row_number() over (partition by platform, campaign_id order by name_source) as campaign_order
    from known_campaigns
),

attributes as (
    select * from meta_attributes
    union all
    select * from google_attributes
    union all
    select
        platform,
        campaign_id,
        'campaign_name' as field,
        campaign_name as attribute_value
    from campaigns
    where campaign_order = 1
),

matches as (
    select
        attributes.platform,
        attributes.campaign_id,
        rules.priority,
        rules.field,
        attributes.attribute_value,
        rules.campaign_type,
        row_number() over (
            partition by attributes.platform, attributes.campaign_id order by rules.priority
        ) as match_order
    from attributes
    inner join rules
        on attributes.field = rules.field
        and (rules.platform = '*' or attributes.platform = rules.platform)
        and lower(attributes.attribute_value) like lower(rules.value_pattern)
),

final as (
    select
        campaigns.platform || ':' || campaigns.campaign_id as campaign_key,
        campaigns.platform,
        campaigns.account_id,
        campaigns.campaign_id,
        campaigns.campaign_name,
        coalesce(matches.campaign_type, fallback.campaign_type) as campaign_type,
        matches.campaign_type is not null as is_classified,
        matches.priority as rule_priority,
        matches.field as rule_field,
        matches.attribute_value as matched_value,
        coalesce(matches.field = 'campaign_name', false) as is_classified_by_name
    from campaigns
    left join matches
        on campaigns.platform = matches.platform
        and campaigns.campaign_id = matches.campaign_id
        and matches.match_order = 1
    -- One row: the test campaign_types_declare_one_fallback keeps it so.
    left join campaign_type_seed as fallback on fallback.is_unclassified
    where campaigns.campaign_order = 1
)

select * from final

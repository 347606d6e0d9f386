{#- One row per (date_day, platform, account_id, campaign_id): Meta and Google Ads unified in the Fivetran
    ad_reporting column set, with the channel each platform's paid traffic maps to. -#}
with

meta as (
    select * from {{ ref('stg_meta_ads__campaign_insights') }}
),

google as (
    select * from {{ ref('stg_google_ads__campaign_stats') }}
),

unioned as (
    select
        date_day,
        'meta' as platform,
        'paid_social' as channel,
        account_id,
        campaign_id,
        campaign_name,
        spend,
        impressions,
        clicks,
        conversions,
        conversions_value
    from meta
    union all
    select
        date_day,
        'google_ads' as platform,
        'paid_search' as channel,
        account_id,
        campaign_id,
        campaign_name,
        spend,
        impressions,
        clicks,
        conversions,
        conversions_value
    from google
),

final as (
    select
        platform || ':' || account_id || ':' || campaign_id || ':' || cast(date_day as {{ dbt.type_string() }})
            as ad_spend_key,
        date_day,
        platform,
        channel,
        account_id,
        campaign_id,
        campaign_name,
        cast(coalesce(spend, 0) as decimal(18, 2)) as spend,
        coalesce(impressions, 0) as impressions,
        coalesce(clicks, 0) as clicks,
        coalesce(conversions, 0) as conversions,
        cast(coalesce(conversions_value, 0) as decimal(18, 2)) as conversions_value
    from unioned
)

select * from final

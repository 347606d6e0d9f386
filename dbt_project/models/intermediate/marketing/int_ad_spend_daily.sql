{#- One row per (date_day, platform, account_id, campaign_id): Meta and Google Ads unified in the Fivetran
    ad_reporting column set. Each CTE below reads one platform's staging model and names it in spend_model;
    the seed ad_platforms says which platform that is and which channel its paid traffic belongs to.
    Money: spend and conversions_value are in the ad account's currency (Meta's account_currency; Google's
    campaign report names none, so the platform's default_currency from ad_platforms); *_reporting converts them
    at the day's rate (macros/fx_conversion.sql), null without a rate (counted in fx_conversion_gaps). -#}
with

meta as (
    select * from {{ ref('stg_meta_ads__campaign_insights') }}
),

google as (
    select * from {{ ref('stg_google_ads__campaign_stats') }}
),

ad_platforms as (
    select * from {{ ref('ad_platforms') }}
),

unioned as (
    select
        'stg_meta_ads__campaign_insights' as spend_model,
        date_day,
        account_id,
        campaign_id,
        campaign_name,
        spend,
        impressions,
        clicks,
        conversions,
        conversions_value,
        currency
    from meta
    union all
    select
        'stg_google_ads__campaign_stats' as spend_model,
        date_day,
        account_id,
        campaign_id,
        campaign_name,
        spend,
        impressions,
        clicks,
        conversions,
        conversions_value,
        cast(null as {{ dbt.type_string() }}) as currency
    from google
),

final as (
    select
        ad_platforms.platform || ':' || unioned.account_id || ':' || unioned.campaign_id || ':'
        || cast(unioned.date_day as {{ dbt.type_string() }}) as ad_spend_key,
        unioned.date_day,
        ad_platforms.platform,
        ad_platforms.channel,
        unioned.account_id,
        unioned.campaign_id,
        unioned.campaign_name,
        cast(coalesce(unioned.spend, 0) as decimal(18, 2)) as spend,
        coalesce(unioned.impressions, 0) as impressions,
        coalesce(unioned.clicks, 0) as clicks,
        coalesce(unioned.conversions, 0) as conversions,
        cast(coalesce(unioned.conversions_value, 0) as decimal(18, 2)) as conversions_value,
        coalesce(unioned.currency, upper(ad_platforms.default_currency)) as currency,
        {{ reporting_currency() }} as reporting_currency,
        {{ to_reporting_currency(
            'coalesce(unioned.spend, 0)', 'coalesce(unioned.currency, ad_platforms.default_currency)', 'spend_fx'
        ) }} as spend_reporting,
        {{ to_reporting_currency('coalesce(unioned.conversions_value, 0)',
                                 'coalesce(unioned.currency, ad_platforms.default_currency)', 'spend_fx') }}
            as conversions_value_reporting
    from unioned
    left join ad_platforms on unioned.spend_model = ad_platforms.spend_model
    {{ fx_rate_join('coalesce(unioned.currency, ad_platforms.default_currency)', 'unioned.date_day', 'spend_fx') }}
)

select * from final

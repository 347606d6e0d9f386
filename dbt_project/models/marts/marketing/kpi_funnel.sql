{#- One row per (month, channel): ad interactions (ad clicks; null for channels without ad data) -> site
    visits (sessions) -> first purchases (customers' first valid orders credited to the channel), with step
    conversion rates. Built from kpi_channel_daily so the funnel and the daily KPIs always agree. A channel has
    the ad-interaction step when an ad platform (seed ad_platforms) reports its clicks. -#}
with

daily as (
    select * from {{ ref('kpi_channel_daily') }}
),

ad_platforms as (
    select * from {{ ref('ad_platforms') }}
),

ad_channels as (
    select distinct channel
    from ad_platforms
),

-- Only the paid channels have an ad-interaction step; for the others the funnel starts at the visit.
monthly as (
    select
        cast({{ dbt.date_trunc('month', 'daily.date_day') }} as date) as month,
        daily.channel,
        case
            when ad_channels.channel is not null then cast(sum(daily.clicks) as bigint)
        end as ad_interactions,
        cast(sum(daily.sessions) as bigint) as site_visits,
        cast(sum(daily.new_customers) as bigint) as first_purchases
    from daily
    left join ad_channels on daily.channel = ad_channels.channel
    group by cast({{ dbt.date_trunc('month', 'daily.date_day') }} as date), daily.channel, ad_channels.channel
),

final as (
    select
        month,
        cast(channel as text) as channel,
        ad_interactions,
        site_visits,
        first_purchases,
        cast(site_visits as {{ type_double() }}) / nullif(ad_interactions, 0) as visit_rate,
        cast(first_purchases as {{ type_double() }}) / nullif(site_visits, 0) as purchase_rate,
        cast(first_purchases as {{ type_double() }}) / nullif(ad_interactions, 0) as overall_rate
    from monthly
)

select * from final

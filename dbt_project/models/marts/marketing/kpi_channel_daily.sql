{#- One row per (date_day, channel, platform, campaign_id). Spend comes from the ad platforms, plus the affiliate
    programme's cost: the commission int_order_referrals owes on each day's orders (affiliate partners and
    customer referrals alike, seed affiliate_commission_rules) is the spend of the affiliate channel (seed
    channels, is_affiliate) on the own-site platform, campaign null; sessions from
    GA4 sessions by their channel; orders, revenue and margin from valid orders credited by int_order_attribution
    (last non-direct click by default). Sessions and orders are tied to a campaign when their utm campaign equals
    the platform's campaign name; otherwise campaign_id is null. Ratios are null where the denominator is 0.
    Money (spend, revenue, gross margin) is in the reporting currency (var reporting_currency) at each day's
    rate; an amount without a rate is left out of the sums (its order still counts) and shown in
    fx_conversion_gaps. -#}
with

spend as (
    select * from {{ ref('int_ad_spend_daily') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

attribution as (
    select * from {{ ref('int_order_attribution') }}
),

order_referrals as (
    select * from {{ ref('int_order_referrals') }}
),

channels as (
    select * from {{ ref('channels') }}
),

ad_platform_traffic as (
    select * from {{ ref('int_ad_platform_traffic_sources') }}
),

-- The latest name of each campaign, and the campaign id each (platform, name) resolves to.
campaign_names as (
    select
        platform,
        campaign_id,
        campaign_name,
        row_number() over (partition by platform, campaign_id order by date_day desc) as name_order
    from spend
),

campaigns as (
    select
        platform,
        lower(campaign_name) as campaign_name_key,
        min(campaign_id) as campaign_id
    from campaign_names
    where name_order = 1
    group by platform, lower(campaign_name)
),

spend_daily as (
    select
        date_day,
        channel,
        platform,
        campaign_id,
        coalesce(sum(spend_reporting), 0) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        0 as sessions,
        0 as orders,
        0 as new_customers,
        cast(0 as decimal(18, 2)) as revenue,
        cast(0 as decimal(18, 2)) as gross_margin
    from spend
    group by date_day, channel, platform, campaign_id
),

-- The affiliate channel's cost is the commission owed on the orders of the day (null commission: no FX rate).
affiliate_channel as (
    select min(channel) as channel
    from channels
    where is_affiliate
),

commission_daily as (
    select
        order_referrals.order_date as date_day,
        affiliate_channel.channel,
        '{{ var("own_site_platform") }}' as platform,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        coalesce(sum(order_referrals.commission_reporting), 0) as spend,
        0 as impressions,
        0 as clicks,
        0 as sessions,
        0 as orders,
        0 as new_customers,
        cast(0 as decimal(18, 2)) as revenue,
        cast(0 as decimal(18, 2)) as gross_margin
    from order_referrals
    cross join affiliate_channel
    where affiliate_channel.channel is not null
    group by order_referrals.order_date, affiliate_channel.channel
),

-- Sessions no ad platform claims are the own site's.
sessions_platformed as (
    select
        sessions.session_date,
        sessions.channel,
        coalesce(ad_platform_traffic.platform, '{{ var("own_site_platform") }}') as platform,
        sessions.traffic_campaign
    from sessions
    left join ad_platform_traffic
        on sessions.channel = ad_platform_traffic.channel
        and sessions.traffic_source = ad_platform_traffic.traffic_source
),

sessions_daily as (
    select
        sessions_platformed.session_date as date_day,
        sessions_platformed.channel,
        sessions_platformed.platform,
        campaigns.campaign_id,
        cast(0 as decimal(18, 2)) as spend,
        0 as impressions,
        0 as clicks,
        count(*) as sessions,
        0 as orders,
        0 as new_customers,
        cast(0 as decimal(18, 2)) as revenue,
        cast(0 as decimal(18, 2)) as gross_margin
    from sessions_platformed
    left join campaigns
        on sessions_platformed.platform = campaigns.platform
        and lower(sessions_platformed.traffic_campaign) = campaigns.campaign_name_key
    group by
        sessions_platformed.session_date,
        sessions_platformed.channel,
        sessions_platformed.platform,
        campaigns.campaign_id
),

orders_daily as (
    select
        attribution.order_date as date_day,
        attribution.channel,
        attribution.platform,
        campaigns.campaign_id,
        cast(0 as decimal(18, 2)) as spend,
        0 as impressions,
        0 as clicks,
        0 as sessions,
        count(*) as orders,
        sum(case when attribution.is_first_order then 1 else 0 end) as new_customers,
        coalesce(sum(attribution.net_revenue_reporting), 0) as revenue,
        sum(coalesce(attribution.gross_margin_reporting, 0)) as gross_margin
    from attribution
    left join campaigns
        on attribution.platform = campaigns.platform
        and lower(attribution.traffic_campaign) = campaigns.campaign_name_key
    group by attribution.order_date, attribution.channel, attribution.platform, campaigns.campaign_id
),

unioned as (
    select * from spend_daily
    union all
    select * from commission_daily
    union all
    select * from sessions_daily
    union all
    select * from orders_daily
),

aggregated as (
    select
        date_day,
        channel,
        platform,
        campaign_id,
        cast(sum(spend) as decimal(18, 2)) as spend,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks,
        cast(sum(sessions) as bigint) as sessions,
        cast(sum(orders) as bigint) as orders,
        cast(sum(new_customers) as bigint) as new_customers,
        cast(sum(revenue) as decimal(18, 2)) as revenue,
        cast(sum(gross_margin) as decimal(18, 2)) as gross_margin
    from unioned
    group by date_day, channel, platform, campaign_id
),

final as (
    select
        aggregated.date_day,
        cast(aggregated.channel as text) as channel,
        cast(aggregated.platform as text) as platform,
        cast(aggregated.campaign_id as text) as campaign_id,
        cast(campaign_names.campaign_name as text) as campaign_name,
        aggregated.spend,
        aggregated.impressions,
        aggregated.clicks,
        aggregated.sessions,
        aggregated.orders,
        aggregated.new_customers,
        aggregated.revenue,
        aggregated.gross_margin,
        cast({{ reporting_currency() }} as text) as currency,
        cast(aggregated.revenue / nullif(aggregated.spend, 0) as {{ type_double() }}) as roas,
        cast((aggregated.gross_margin - aggregated.spend) / nullif(aggregated.spend, 0) as {{ type_double() }})
            as roi,
        cast(aggregated.spend / nullif(aggregated.clicks, 0) as {{ type_double() }}) as cpc,
        cast(aggregated.clicks as {{ type_double() }}) / nullif(aggregated.impressions, 0) as ctr,
        cast(aggregated.orders as {{ type_double() }}) / nullif(aggregated.sessions, 0) as conversion_rate,
        cast(aggregated.spend / nullif(aggregated.orders, 0) as {{ type_double() }}) as cpa,
        cast(aggregated.spend / nullif(aggregated.new_customers, 0) as {{ type_double() }}) as cac,
        cast(aggregated.revenue / nullif(aggregated.orders, 0) as {{ type_double() }}) as aov,
        cast(
            aggregated.channel || '|' || aggregated.platform || '|' || coalesce(aggregated.campaign_id, '')
            || '|' || cast(aggregated.date_day as {{ dbt.type_string() }}) as text
        ) as kpi_key
    from aggregated
    left join campaign_names
        on aggregated.platform = campaign_names.platform
        and aggregated.campaign_id = campaign_names.campaign_id
        and campaign_names.name_order = 1
)

select * from final

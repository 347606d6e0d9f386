{#- One row per (date_day, platform, campaign_type) of the paid platforms (seed ad_platforms): spend, leads and
    credited orders of every campaign of that type (int_campaign_types), split into first orders of a customer
    (new) and later ones (returning), with CPL, new- and returning-customer ROAS and, for the remarketing type
    (seed campaign_types.is_remarketing), cost per upsell. Leads and orders on a platform whose utm campaign
    names no known campaign count under the fallback type. Ratios are null where their denominator is 0; money
    in the reporting currency. -#}
with

spend as (
    select * from {{ ref('int_ad_spend_daily') }}
),

campaigns as (
    select * from {{ ref('int_campaign_types') }}
),

leads as (
    select * from {{ ref('int_leads') }}
),

attribution as (
    select * from {{ ref('int_order_attribution') }}
),

ad_platforms as (
    select * from {{ ref('ad_platforms') }}
),

campaign_types as (
    select * from {{ ref('campaign_types') }}
),

fallback_type as (
    select campaign_type
    from campaign_types
    where is_unclassified
),

-- A utm campaign names a campaign by its latest name, case-insensitive (as kpi_channel_daily matches them).
campaign_names as (
    select
        platform,
        lower(campaign_name) as campaign_name_key,
        min(campaign_id) as campaign_id
    from campaigns
    group by platform, lower(campaign_name)
),

spend_daily as (
    select
        spend.date_day,
        spend.platform,
        coalesce(campaigns.campaign_type, fallback_type.campaign_type) as campaign_type,
        count(distinct spend.campaign_id) as campaigns,
        coalesce(sum(spend.spend_reporting), 0) as spend,
        0 as sign_ups,
        0 as generated_leads,
        0 as newsletter_signups,
        0 as orders,
        0 as new_customer_orders,
        0 as returning_customer_orders,
        cast(0 as decimal(18, 2)) as new_customer_revenue,
        cast(0 as decimal(18, 2)) as returning_customer_revenue,
        cast(0 as decimal(18, 2)) as revenue
    from spend
    left join campaigns
        on spend.platform = campaigns.platform
        and spend.campaign_id = campaigns.campaign_id
    cross join fallback_type
    group by spend.date_day, spend.platform, coalesce(campaigns.campaign_type, fallback_type.campaign_type)
),

leads_daily as (
    select
        leads.lead_date as date_day,
        leads.platform,
        coalesce(campaigns.campaign_type, fallback_type.campaign_type) as campaign_type,
        0 as campaigns,
        cast(0 as decimal(18, 2)) as spend,
        sum(case when leads.lead_type = 'sign_up' then 1 else 0 end) as sign_ups,
        sum(case when leads.lead_type = 'generate_lead' then 1 else 0 end) as generated_leads,
        sum(case when leads.lead_type = 'newsletter_signup' then 1 else 0 end) as newsletter_signups,
        0 as orders,
        0 as new_customer_orders,
        0 as returning_customer_orders,
        cast(0 as decimal(18, 2)) as new_customer_revenue,
        cast(0 as decimal(18, 2)) as returning_customer_revenue,
        cast(0 as decimal(18, 2)) as revenue
    from leads
    inner join ad_platforms on leads.platform = ad_platforms.platform
    left join campaigns
        on leads.platform = campaigns.platform
        and leads.campaign_id = campaigns.campaign_id
    cross join fallback_type
    group by leads.lead_date, leads.platform, coalesce(campaigns.campaign_type, fallback_type.campaign_type)
),

credited as (
    select
        attribution.order_date as date_day,
        attribution.platform,
        coalesce(campaigns.campaign_type, fallback_type.campaign_type) as campaign_type,
        attribution.is_first_order,
        attribution.customer_id is not null and not attribution.is_first_order as is_returning,
        attribution.net_revenue_reporting
    from attribution
    inner join ad_platforms on attribution.platform = ad_platforms.platform
    left join campaign_names
        on attribution.platform = campaign_names.platform
        and lower(attribution.traffic_campaign) = campaign_names.campaign_name_key
    left join campaigns
        on campaign_names.platform = campaigns.platform
        and campaign_names.campaign_id = campaigns.campaign_id
    cross join fallback_type
),

orders_daily as (
    select
        date_day,
        platform,
        campaign_type,
        0 as campaigns,
        cast(0 as decimal(18, 2)) as spend,
        0 as sign_ups,
        0 as generated_leads,
        0 as newsletter_signups,
        count(*) as orders,
        sum(case when is_first_order then 1 else 0 end) as new_customer_orders,
        sum(case when is_returning then 1 else 0 end) as returning_customer_orders,
        coalesce(sum(case when is_first_order then net_revenue_reporting end), 0) as new_customer_revenue,
        coalesce(sum(case when is_returning then net_revenue_reporting end), 0) as returning_customer_revenue,
        coalesce(sum(net_revenue_reporting), 0) as revenue
    from credited
    group by date_day, platform, campaign_type
),

unioned as (
    select * from spend_daily
    union all
    select * from leads_daily
    union all
    select * from orders_daily
),

aggregated as (
    select
        date_day,
        platform,
        campaign_type,
        cast(sum(campaigns) as bigint) as campaigns,
        cast(sum(spend) as decimal(18, 2)) as spend,
        cast(sum(sign_ups) as bigint) as sign_ups,
        cast(sum(generated_leads) as bigint) as generated_leads,
        cast(sum(newsletter_signups) as bigint) as newsletter_signups,
        cast(sum(orders) as bigint) as orders,
        cast(sum(new_customer_orders) as bigint) as new_customer_orders,
        cast(sum(returning_customer_orders) as bigint) as returning_customer_orders,
        cast(sum(new_customer_revenue) as decimal(18, 2)) as new_customer_revenue,
        cast(sum(returning_customer_revenue) as decimal(18, 2)) as returning_customer_revenue,
        cast(sum(revenue) as decimal(18, 2)) as revenue
    from unioned
    group by date_day, platform, campaign_type
),

final as (
    select
        aggregated.date_day,
        cast(aggregated.platform as text) as platform,
        cast(ad_platforms.channel as text) as channel,
        cast(aggregated.campaign_type as text) as campaign_type,
        cast(campaign_types.is_unclassified as boolean) as is_unclassified,
        cast(campaign_types.is_remarketing as boolean) as is_remarketing,
        aggregated.campaigns,
        aggregated.spend,
        cast(aggregated.sign_ups + aggregated.generated_leads + aggregated.newsletter_signups as bigint) as leads,
        aggregated.sign_ups,
        aggregated.generated_leads,
        aggregated.newsletter_signups,
        aggregated.orders,
        aggregated.new_customer_orders,
        aggregated.returning_customer_orders,
        aggregated.new_customer_revenue,
        aggregated.returning_customer_revenue,
        aggregated.revenue,
        cast({{ reporting_currency() }} as text) as currency,
        cast(
            aggregated.spend
            / nullif(aggregated.sign_ups + aggregated.generated_leads + aggregated.newsletter_signups, 0)
            as {{ type_double() }}
        ) as cpl,
        cast(aggregated.new_customer_revenue / nullif(aggregated.spend, 0) as {{ type_double() }})
            as new_customer_roas,
        cast(aggregated.returning_customer_revenue / nullif(aggregated.spend, 0) as {{ type_double() }})
            as returning_customer_roas,
        cast(
            case
                when campaign_types.is_remarketing
                    then aggregated.spend / nullif(aggregated.returning_customer_orders, 0)
            end as {{ type_double() }}
        ) as cost_per_upsell,
        cast(
            aggregated.platform || '|' || aggregated.campaign_type || '|'
            || cast(aggregated.date_day as {{ dbt.type_string() }}) as text
        ) as kpi_key
    from aggregated
    left join ad_platforms on aggregated.platform = ad_platforms.platform
    left join campaign_types on aggregated.campaign_type = campaign_types.campaign_type
)

select * from final

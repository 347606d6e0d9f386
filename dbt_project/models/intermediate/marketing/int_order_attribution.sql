{#- One row per valid order: the session credited with it and that session's channel.
    Orders of a third-party marketplace (seed marketplaces: not is_own_shop) are credited to the marketplace's
    channel and platform. Own-shop orders (shop and imported) take the session int_order_session_credits chose
    (incremental: the costly search among the buyer's sessions runs for new and recent orders only); the order's
    current facts (validity, revenue, first order) are joined here on every run. Orders without any session are
    credited to the direct channel (seed channels: is_direct); the platform is the ad platform of the session's
    traffic, else the own site (var own_site_platform). -#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

credits as (
    select * from {{ ref('int_order_session_credits') }}
),

ad_platform_traffic as (
    select * from {{ ref('int_ad_platform_traffic_sources') }}
),

channels as (
    select * from {{ ref('channels') }}
),

final as (
    select
        orders.order_key,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        credits.session_key,
        coalesce(orders.source_channel, credits.channel, direct_channel.channel) as channel,
        case
            when not orders.is_own_shop then orders.order_source
            else coalesce(ad_platform_traffic.platform, '{{ var("own_site_platform") }}')
        end as platform,
        credits.traffic_source,
        credits.traffic_medium,
        credits.traffic_campaign,
        '{{ var("attribution_model") }}' as attribution_model,
        orders.currency,
        orders.net_revenue,
        orders.gross_margin,
        orders.net_revenue_reporting,
        orders.gross_margin_reporting,
        orders.customer_id is not null and row_number() over (
            partition by orders.customer_id order by orders.ordered_at, orders.order_key
        ) = 1 as is_first_order
    from orders
    left join credits on orders.order_key = credits.order_key
    left join ad_platform_traffic
        on credits.channel = ad_platform_traffic.channel
        and credits.traffic_source = ad_platform_traffic.traffic_source
    -- One row: the test channels_declare_one_direct_channel keeps it so.
    left join channels as direct_channel on direct_channel.is_direct
    where orders.is_valid
)

select * from final

{#- One row per valid order: the session credited with it and that session's channel.
    Orders of a third-party marketplace (seed marketplaces: not is_own_shop) are credited to the marketplace's
    channel and platform. For own-shop orders (shop and imported) the candidates are the converting session
    (its purchase event carries the shop order id) and every session of the buyer (via identity stitching)
    that started within var attribution_lookback_days before the order; the model in var attribution_model
    (macro attribution_order_by) picks one. Orders without any session are credited to the direct channel
    (seed channels: is_direct); the platform is the ad platform of the session's traffic, else the own site
    (var own_site_platform). -#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

events as (
    select * from {{ ref('int_web_events') }}
),

shop_orders as (
    select * from {{ ref('stg_shop__orders') }}
),

ad_platform_traffic as (
    select * from {{ ref('int_ad_platform_traffic_sources') }}
),

channels as (
    select * from {{ ref('channels') }}
),

web_orders as (
    select
        *,
        {{ dbt.dateadd('day', -(var('attribution_lookback_days') | int), 'ordered_at') }} as window_start
    from orders
    where is_valid
        and is_own_shop
),

-- The purchase event's transaction id is the order id or its order number: two equi-joins, not an OR join.
order_references as (
    select
        cast(order_id as {{ dbt.type_string() }}) as transaction_ref,
        cast(order_id as {{ dbt.type_string() }}) as order_id
    from shop_orders
    union
    select
        order_number as transaction_ref,
        cast(order_id as {{ dbt.type_string() }}) as order_id
    from shop_orders
    where order_number is not null
),

-- GA4 purchase events carry the id of an order of the shop's own checkout (staging model stg_shop__orders).
purchase_sessions as (
    select distinct
        orders.order_key,
        events.user_pseudo_id
        || '-' || cast(events.ga_session_id as {{ dbt.type_string() }}) as session_key
    from events
    inner join order_references on replace(events.transaction_id, '#', '') = order_references.transaction_ref
    inner join orders
        on orders.orders_model = 'stg_shop__orders'
        and order_references.order_id = orders.order_id
    where events.event_name = 'purchase'
        and events.ga_session_id is not null
),

buyer_sessions as (
    select
        web_orders.order_key,
        sessions.session_key
    from web_orders
    inner join identity_map on web_orders.customer_id = identity_map.customer_id
    inner join sessions
        on identity_map.user_pseudo_id = sessions.user_pseudo_id
        and web_orders.ordered_at >= sessions.started_at
        and web_orders.window_start <= sessions.started_at
),

candidate_keys as (
    select
        order_key,
        session_key
    from purchase_sessions
    union
    select
        order_key,
        session_key
    from buyer_sessions
),

candidates as (
    select
        candidate_keys.order_key,
        sessions.session_key,
        sessions.started_at,
        sessions.channel,
        sessions.traffic_source,
        sessions.traffic_medium,
        sessions.traffic_campaign,
        case when channels.is_direct then 1 else 0 end as is_direct
    from candidate_keys
    inner join sessions on candidate_keys.session_key = sessions.session_key
    left join channels on sessions.channel = channels.channel
),

ranked as (
    select
        *,
        row_number() over (partition by order_key order by {{ attribution_order_by() }}) as candidate_order
    from candidates
),

final as (
    select
        orders.order_key,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        ranked.session_key,
        coalesce(orders.source_channel, ranked.channel, direct_channel.channel) as channel,
        case
            when not orders.is_own_shop then orders.order_source
            else coalesce(ad_platform_traffic.platform, '{{ var("own_site_platform") }}')
        end as platform,
        ranked.traffic_source,
        ranked.traffic_medium,
        ranked.traffic_campaign,
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
    left join ranked
        on orders.order_key = ranked.order_key
        and ranked.candidate_order = 1
    left join ad_platform_traffic
        on ranked.channel = ad_platform_traffic.channel
        and ranked.traffic_source = ad_platform_traffic.traffic_source
    -- One row: the test channels_declare_one_direct_channel keeps it so.
    left join channels as direct_channel on direct_channel.is_direct
    where orders.is_valid
)

select * from final

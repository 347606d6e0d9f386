{#- One row per valid order: the session credited with it and that session's channel.
    Marketplace orders (eBay, Amazon) are credited to channel 'marketplace'. For shop and imported orders the
    candidates are the converting session (its purchase event carries the order id) and every session of the
    buyer (via identity stitching) that started within var attribution_lookback_days before the order; the
    model in var attribution_model (macro attribution_order_by) picks one. Orders without any session are
    credited to 'direct'. -#}
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

web_orders as (
    select
        *,
        {{ dbt.dateadd('day', -(var('attribution_lookback_days') | int), 'ordered_at') }} as window_start
    from orders
    where is_valid
        and order_source in ('shop', 'file')
),

-- The purchase event's transaction id is the order id or its order number: two equi-joins, not an OR join.
order_references as (
    select
        cast(order_id as {{ dbt.type_string() }}) as transaction_ref,
        order_id
    from shop_orders
    union
    select
        order_number as transaction_ref,
        order_id
    from shop_orders
    where order_number is not null
),

purchase_sessions as (
    select distinct
        'shop:' || cast(order_references.order_id as {{ dbt.type_string() }}) as order_key,
        events.user_pseudo_id
        || '-' || cast(events.ga_session_id as {{ dbt.type_string() }}) as session_key
    from events
    inner join order_references on replace(events.transaction_id, '#', '') = order_references.transaction_ref
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
        case when sessions.channel = 'direct' then 1 else 0 end as is_direct
    from candidate_keys
    inner join sessions on candidate_keys.session_key = sessions.session_key
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
        coalesce(orders.source_channel, ranked.channel, 'direct') as channel,
        case
            when orders.order_source in ('ebay', 'amazon') then orders.order_source
            else {{ ad_platform('ranked.channel', 'ranked.traffic_source') }}
        end as platform,
        ranked.traffic_source,
        ranked.traffic_medium,
        ranked.traffic_campaign,
        '{{ var("attribution_model") }}' as attribution_model,
        orders.net_revenue,
        orders.gross_margin,
        orders.customer_id is not null and row_number() over (
            partition by orders.customer_id order by orders.ordered_at, orders.order_key
        ) = 1 as is_first_order
    from orders
    left join ranked
        on orders.order_key = ranked.order_key
        and ranked.candidate_order = 1
    where orders.is_valid
)

select * from final

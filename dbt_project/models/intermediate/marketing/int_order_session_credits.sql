{#- One row per own-shop order (shop and imported; valid or not): the session credited with it, or none.
    The candidates are the converting session (its purchase event carries the shop order id) and every session
    of the buyer (via identity stitching) that started within var attribution_lookback_days before the order;
    the model in var attribution_model (macro attribution_order_by) picks one. int_order_attribution adds the
    order's current facts (validity, revenue, first order) to it.
    Incremental (unique_key order_key, delete+insert): each run recomputes the orders of the last
    var incremental_lookback_days + 1 days before the newest order_date built, which covers every session
    int_sessions rebuilt (a session credits only orders placed after it started), and every order not built
    yet, whatever its date (late order files). A session stitched to a buyer only after that window credits
    the buyer's older orders at the next full refresh, as does a change of var attribution_model or
    attribution_lookback_days. -#}
{%- set lookback_days = var('incremental_lookback_days') | int %}
{%- set newest_order_date = newest_built_value('order_date') %}

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

channels as (
    select * from {{ ref('channels') }}
),

{% if newest_order_date is not none %}
built as (
    select order_key from {{ this }}
),
{% endif %}

own_shop_orders as (
    select
        orders.order_key,
        orders.orders_model,
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        {{ dbt.dateadd('day', -(var('attribution_lookback_days') | int), 'orders.ordered_at') }} as window_start
    from orders
    {% if newest_order_date is not none %}
        left join built on orders.order_key = built.order_key
    {% endif %}
    where orders.is_own_shop
    {% if newest_order_date is not none %}
        and (
            orders.order_date >= {{ days_before(newest_order_date, lookback_days + 1) }}
            or built.order_key is null
        )
    {% endif %}
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
        own_shop_orders.order_key,
        events.user_pseudo_id
        || '-' || cast(events.ga_session_id as {{ dbt.type_string() }}) as session_key
    from events
    inner join order_references on replace(events.transaction_id, '#', '') = order_references.transaction_ref
    inner join own_shop_orders
        on own_shop_orders.orders_model = 'stg_shop__orders'
        and order_references.order_id = own_shop_orders.order_id
    where events.event_name = 'purchase'
        and events.ga_session_id is not null
),

buyer_sessions as (
    select
        own_shop_orders.order_key,
        sessions.session_key
    from own_shop_orders
    inner join identity_map on own_shop_orders.customer_id = identity_map.customer_id
    inner join sessions
        on identity_map.user_pseudo_id = sessions.user_pseudo_id
        and own_shop_orders.ordered_at >= sessions.started_at
        and own_shop_orders.window_start <= sessions.started_at
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
        own_shop_orders.order_key,
        own_shop_orders.order_date,
        ranked.session_key,
        ranked.channel,
        ranked.traffic_source,
        ranked.traffic_medium,
        ranked.traffic_campaign
    from own_shop_orders
    left join ranked
        on own_shop_orders.order_key = ranked.order_key
        and ranked.candidate_order = 1
)

select * from final

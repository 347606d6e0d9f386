{#- One row per own-shop order (shop and imported; valid or not): the session credited with it, or none.
    The candidates are the converting session (its purchase event carries the shop order id) and every session
    of the buyer (via identity stitching) that started within var attribution_lookback_days before the order;
    the model in var attribution_model (macro attribution_order_by) picks one. int_order_attribution adds the
    order's current facts (validity, revenue, first order) to it.
    Incremental (unique_key order_key, delete+insert): each run recomputes the orders of the last
    var incremental_lookback_days + 1 days before the newest order_date built, which covers every session
    int_sessions rebuilt (a session credits only orders placed after it started), and, whatever their date,
    the orders int_orders wrote since this model's newest built_at (macro build_stamp) that are new here (late
    order files) or whose customer or time changed (an identity merge or split). The post-hook deletes orders
    that vanished from int_orders (macro delete_orders_not_kept). A session stitched to a buyer only after that
    window credits the buyer's older orders at the next full refresh, as does a change of var attribution_model
    or attribution_lookback_days. -#}
{%- set lookback_days = var('incremental_lookback_days') | int %}
{%- set attribution_days = var('attribution_lookback_days') | int %}
{%- set newest_order_date = newest_built_value('order_date') %}
{%- set built_since = newest_built_value('built_at') %}
{#- built before this model kept customer_id and ordered_at: rebuilt whole once -#}
{%- set changed_only = newest_order_date is not none and built_since is not none
    and newest_built_value('ordered_at') is not none %}
{%- set window_start = days_before(newest_order_date, lookback_days + 1) if changed_only else none %}

with

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

events as (
    select * from {{ ref('int_web_events') }}
),

channels as (
    select * from {{ ref('channels') }}
),
{% if changed_only %}

built as (
    select * from {{ this }}
),

-- Older orders int_orders rewrote since (it rewrites every order of a buyer seen again) whose credit may differ:
-- not credited yet, or with another customer or time than credited.
rewritten_orders as (
    select
        rewritten.order_key,
        rewritten.orders_model,
        rewritten.order_id,
        rewritten.customer_id,
        rewritten.ordered_at,
        rewritten.order_date
    from {{ ref('int_orders') }} as rewritten
    left join built on rewritten.order_key = built.order_key
    where rewritten.is_own_shop
        and rewritten.order_date < {{ window_start }}
        and rewritten.built_at > {{ timestamp_literal(built_since) }}
        and (
            built.order_key is null
            or built.customer_id is distinct from rewritten.customer_id
            or built.ordered_at <> rewritten.ordered_at
        )
),
{% endif %}

-- The recomputed days and the rewritten orders: two filters that reach the scans, where an OR of them would
-- not. int_orders and int_sessions are read where they are used, not through an import CTE: a CTE read twice
-- is materialised whole first.
own_shop_orders as (
    select
        order_key,
        orders_model,
        order_id,
        customer_id,
        ordered_at,
        order_date,
        {{ dbt.dateadd('day', -attribution_days, 'ordered_at') }} as window_start
    from {{ ref('int_orders') }}
    where is_own_shop
    {%- if changed_only %}
        and order_date >= {{ window_start }}
        union all
        select
            *,
            {{ dbt.dateadd('day', -attribution_days, 'ordered_at') }} as window_start
        from rewritten_orders
    {%- endif %}
),

-- The shop orders among them (stg_shop__orders), whose ids GA4 purchase events carry; matched as numbers, so
-- the join's key range reaches the scan of the raw orders.
shop_orders as (
    select * from {{ ref('stg_shop__orders') }}
    {% if changed_only %}
        where order_id in (
            select cast(order_id as bigint) from own_shop_orders where orders_model = 'stg_shop__orders'
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
        sessions.session_key,
        sessions.started_at,
        sessions.channel,
        sessions.traffic_source,
        sessions.traffic_medium,
        sessions.traffic_campaign
    from own_shop_orders
    inner join identity_map on own_shop_orders.customer_id = identity_map.customer_id
    inner join {{ ref('int_sessions') }} as sessions
        on identity_map.user_pseudo_id = sessions.user_pseudo_id
        and own_shop_orders.ordered_at >= sessions.started_at
        and own_shop_orders.window_start <= sessions.started_at
),

converting_sessions as (
    select
        purchase_sessions.order_key,
        sessions.session_key,
        sessions.started_at,
        sessions.channel,
        sessions.traffic_source,
        sessions.traffic_medium,
        sessions.traffic_campaign
    from purchase_sessions
    inner join {{ ref('int_sessions') }} as sessions on purchase_sessions.session_key = sessions.session_key
),

candidate_sessions as (
    select * from converting_sessions
    union
    select * from buyer_sessions
),

candidates as (
    select
        candidate_sessions.*,
        case when channels.is_direct then 1 else 0 end as is_direct
    from candidate_sessions
    left join channels on candidate_sessions.channel = channels.channel
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
        ranked.traffic_campaign,
        own_shop_orders.customer_id,
        own_shop_orders.ordered_at,
        {{ build_stamp() }} as built_at
    from own_shop_orders
    left join ranked
        on own_shop_orders.order_key = ranked.order_key
        and ranked.candidate_order = 1
)

select * from final

{#- Identity stitching: which customer each GA4 browser (user_pseudo_id) belongs to.
    Evidence, strongest first: the user_id the site sets after login (the customer's key, matched text for text:
    '17' is customer 17, '00017' is not), then the purchase events whose transaction_id is a shop order (id or
    order number). Latest evidence wins within a kind.
    Incremental (unique_key user_pseudo_id, delete+insert). A browser's row depends on its own evidence events, on
    which customer each shop order it bought names, and on which keys are customers. The post-hook keeps what a
    build read in table int_identity_map__state (macros/identity_map_state.sql: int_customers' keys and the newest
    load time of the shop orders), so a run re-derives, from all their events, only the browsers (CTE
    browsers_in_scope)
    - with evidence events on the days int_web_events may have replaced: from var incremental_lookback_days + 1
      days before the newest evidence built (one more day: event_date is the property's day, event_at UTC), or
      built with evidence seen then (a day delivered again may have lost it);
    - with a purchase of a shop order loaded since (a new order, one reloaded with another customer), or logged
      in as a customer key added since (a split or a new buyer adds one);
    - tied to a customer key removed since (a merge removes one);
    and every browser when the state table is missing. The privacy purge needs no case of its own: it blanks no
    column this model reads in place (GA4 events and shop orders' customer ids stay), and the customer keys an
    erasure removes or adds are among the changes above. A browser
    re-derived without evidence is written once with a null customer_id and deleted by the post-hook. A shop
    order's new order_number is not seen until --full-refresh (Shopify's order numbers do not change). -#}
{%- set orders_loaded_through = identity_map_orders_loaded_through() %}
{%- set newest_seen_at = newest_built_value('last_seen_at') %}
{%- set scoped = orders_loaded_through is not none and newest_seen_at is not none %}
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

customers as (
    select * from {{ ref('int_customers') }}
),
{% if is_incremental() %}

built as (
    select * from {{ this }}
),
{% endif %}
{% if scoped %}

state as (
    select * from {{ identity_map_state() }}
),

-- Customer keys since the last build: a merge removes one, a split or a new buyer adds one.
added_customers as (
    select customers.customer_id
    from customers
    where not exists (select 1 from state where state.customer_id = customers.customer_id)
),

removed_customers as (
    select state.customer_id
    from state
    where not exists (select 1 from customers where customers.customer_id = state.customer_id)
),

-- Orders whose purchase events may name another customer now. An order's customer is always a customer key
-- (identity links make every Shopify customer id a customer under its own id), so only orders loaded since.
touched_orders as (
    select
        order_id,
        order_number
    from orders
    where loaded_at > {{ timestamp_literal(orders_loaded_through) }}
),

touched_references as (
    select cast(order_id as {{ dbt.type_string() }}) as transaction_ref
    from touched_orders
    union all
    select order_number as transaction_ref
    from touched_orders
    where order_number is not null
),

browsers_in_scope as (
    select user_pseudo_id
    from {{ ref('int_web_events') }}
    where (
        event_date >= {{ days_before((newest_seen_at | string)[:10], var('incremental_lookback_days') | int + 1) }}
        and (user_id is not null or (event_name = 'purchase' and transaction_id is not null))
    )
    or user_id in (select added_customers.customer_id from added_customers)
    or (
        event_name = 'purchase'
        and replace(transaction_id, '#', '') in (select touched_references.transaction_ref from touched_references)
    )
    union
    select user_pseudo_id
    from built
    where customer_id in (select removed_customers.customer_id from removed_customers)
        -- evidence on a replaced day may be gone (a day delivered again without it); event_at is UTC
        or last_seen_at >= {{ days_before((newest_seen_at | string)[:10], var('incremental_lookback_days') | int + 2) }}
),
{% endif %}

-- Each branch reads only the events it needs: one shared CTE of every event would be materialised first.
logged_in_events as (
    select
        user_pseudo_id,
        user_id,
        event_at
    from {{ ref('int_web_events') }}
    where user_id is not null
    {% if scoped %}
        and user_pseudo_id in (select browsers_in_scope.user_pseudo_id from browsers_in_scope)
    {% endif %}
),

purchase_events as (
    select
        user_pseudo_id,
        replace(transaction_id, '#', '') as transaction_ref,
        event_at
    from {{ ref('int_web_events') }}
    where event_name = 'purchase'
        and transaction_id is not null
    {% if scoped %}
        and user_pseudo_id in (select browsers_in_scope.user_pseudo_id from browsers_in_scope)
    {% endif %}
),

-- GA4 transaction ids are the shop order id or its order number ('#1001'): one row per accepted spelling, so
-- the join below stays an equi-join (an OR in a join condition becomes a nested loop). An order whose number
-- spells its id is listed twice, which changes no first or last sighting below (no distinct needed: sorting out
-- the duplicates costs more than the join).
order_references as (
    select
        cast(order_id as {{ dbt.type_string() }}) as transaction_ref,
        customer_id
    from orders
    union all
    select
        order_number as transaction_ref,
        customer_id
    from orders
    where order_number is not null
),

-- Each browser's sightings per user_id first (few rows), then only the user_ids that are customer keys.
user_id_sightings as (
    select
        user_pseudo_id,
        user_id,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at
    from logged_in_events
    group by user_pseudo_id, user_id
),

by_user_id as (
    select
        user_pseudo_id,
        user_id as customer_id,
        'user_id' as matched_by,
        1 as evidence_strength,
        first_seen_at,
        last_seen_at
    from user_id_sightings
    where user_id in (select customers.customer_id from customers)
),

by_transaction as (
    select
        events.user_pseudo_id,
        order_references.customer_id,
        'transaction_id' as matched_by,
        2 as evidence_strength,
        min(events.event_at) as first_seen_at,
        max(events.event_at) as last_seen_at
    from purchase_events as events
    inner join order_references on events.transaction_ref = order_references.transaction_ref
    -- Only customers the shop export knows: an order can reference a customer not extracted yet.
    inner join customers on order_references.customer_id = customers.customer_id
    group by events.user_pseudo_id, order_references.customer_id
),

evidence as (
    select * from by_user_id
    union all
    select * from by_transaction
),

ranked as (
    select
        *,
        row_number() over (
            partition by user_pseudo_id
            order by evidence_strength asc, last_seen_at desc, customer_id asc
        ) as evidence_order
    from evidence
),

derived as (
    select
        user_pseudo_id,
        customer_id,
        matched_by,
        first_seen_at,
        last_seen_at
    from ranked
    where evidence_order = 1
),
{% if is_incremental() %}

-- Browsers built before, re-derived without evidence: written with a null customer_id, which the post-hook
-- deletes.
lost as (
    select
        built.user_pseudo_id,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as matched_by,
        cast(null as timestamp) as first_seen_at,
        cast(null as timestamp) as last_seen_at
    from built
    where not exists (select 1 from derived where derived.user_pseudo_id = built.user_pseudo_id)
    {% if scoped %}
        and built.user_pseudo_id in (select browsers_in_scope.user_pseudo_id from browsers_in_scope)
    {% endif %}
),
{% endif %}

final as (
    select * from derived
    {% if is_incremental() %}
        union all
        select * from lost
    {% endif %}
)

select * from final

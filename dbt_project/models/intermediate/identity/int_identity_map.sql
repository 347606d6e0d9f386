{#- Identity stitching: which customer each GA4 browser (user_pseudo_id) belongs to.
    Evidence, strongest first: the user_id the site sets after login (the customer's key, matched text for text:
    '17' is customer 17, '00017' is not), then the purchase events whose transaction_id is a shop order (id or
    order number). Latest evidence wins within a kind. -#}
with

-- Each branch reads only the events it needs: one shared CTE of every event would be materialised first.
logged_in_events as (
    select
        user_pseudo_id,
        user_id,
        event_at
    from {{ ref('int_web_events') }}
    where user_id is not null
),

purchase_events as (
    select
        user_pseudo_id,
        replace(transaction_id, '#', '') as transaction_ref,
        event_at
    from {{ ref('int_web_events') }}
    where event_name = 'purchase'
        and transaction_id is not null
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
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

customers as (
    select * from {{ ref('int_customers') }}
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

final as (
    select
        user_pseudo_id,
        customer_id,
        matched_by,
        first_seen_at,
        last_seen_at
    from ranked
    where evidence_order = 1
)

select * from final

{#- Identity stitching: which shop customer each GA4 browser (user_pseudo_id) belongs to.
    Evidence, strongest first: the user_id the site sets after login (= shop customer id), then the purchase
    events whose transaction_id is a shop order (id or order number). Latest evidence wins within a kind. -#}
with

events as (
    select * from {{ ref('stg_ga4__events') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

by_user_id as (
    select
        events.user_pseudo_id,
        customers.customer_id,
        'user_id' as matched_by,
        1 as evidence_strength,
        max(events.event_at) as last_seen_at
    from events
    inner join customers
        on {{ try_cast_bigint('events.user_id') }} = customers.customer_id
    group by events.user_pseudo_id, customers.customer_id
),

by_transaction as (
    select
        events.user_pseudo_id,
        orders.customer_id,
        'transaction_id' as matched_by,
        2 as evidence_strength,
        max(events.event_at) as last_seen_at
    from events
    inner join orders
        on replace(events.transaction_id, '#', '') = cast(orders.order_id as {{ dbt.type_string() }})
        or replace(events.transaction_id, '#', '') = orders.order_number
    -- Only customers the shop export knows: an order can reference a customer not extracted yet.
    inner join customers on orders.customer_id = customers.customer_id
    where events.event_name = 'purchase'
    group by events.user_pseudo_id, orders.customer_id
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
        last_seen_at
    from ranked
    where evidence_order = 1
)

select * from final

{#- One row per third-party marketplace order that is late against the marketplace's handling-time promise
    (seed marketplace_handling_times): shipped after its deadline, or still unshipped past it as of as_of_date. -#}
with

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

handling_times as (
    select * from {{ ref('marketplace_handling_times') }}
),

shipment_lines as (
    select * from {{ ref('int_shipment_lines') }}
),

-- Orders the marketplace shows as cancelled are never late; one it shows as shipped without a shipment in the
-- files or the shop's fulfillments was shipped by other means, at a time this project cannot know, so it is not
-- reported as unshipped.
ebay_orders as (
    select
        order_id,
        created_at,
        coalesce(cancel_state, '') = 'CANCELED' as is_cancelled,
        coalesce(fulfillment_status, '') = 'FULFILLED' as is_marked_shipped,
        'stg_ebay__orders' as orders_model
    from {{ ref('stg_ebay__orders') }}
),

amazon_orders as (
    select
        order_id,
        created_at,
        coalesce(order_status, '') = 'Canceled' as is_cancelled,
        coalesce(order_status, '') in ('Shipped', 'InvoiceUnconfirmed') as is_marked_shipped,
        'stg_amazon__orders' as orders_model
    from {{ ref('stg_amazon__orders') }}
),

etsy_orders as (
    select
        order_id,
        created_at,
        status = 'canceled' as is_cancelled,
        is_shipped as is_marked_shipped,
        'stg_etsy__orders' as orders_model
    from {{ ref('stg_etsy__orders') }}
),

orders as (
    select * from ebay_orders
    union all
    select * from amazon_orders
    union all
    select * from etsy_orders
),

first_shipments as (
    select
        marketplace,
        order_id,
        min(shipped_at) as first_shipped_at
    from shipment_lines
    group by marketplace, order_id
),

promised as (
    select
        marketplaces.marketplace,
        orders.order_id,
        orders.created_at,
        handling_times.handling_days,
        {{ dbt.dateadd('day', 'handling_times.handling_days', 'orders.created_at') }} as ship_by,
        first_shipments.first_shipped_at,
        orders.is_marked_shipped
    from orders
    inner join marketplaces
        on orders.orders_model = marketplaces.orders_model
    inner join handling_times
        on marketplaces.marketplace = handling_times.marketplace
    left join first_shipments
        on marketplaces.marketplace = first_shipments.marketplace
        and orders.order_id = first_shipments.order_id
    where not orders.is_cancelled
),

final as (
    select
        marketplace,
        order_id,
        created_at,
        handling_days,
        ship_by,
        first_shipped_at,
        case when first_shipped_at is null then 'unshipped' else 'shipped_late' end as lateness,
        {{ dbt.datediff('ship_by', 'coalesce(first_shipped_at, cast(' ~ as_of_date() ~ ' as timestamp))', 'hour') }}
            as hours_late
    from promised
    where
        (first_shipped_at is not null and first_shipped_at > ship_by)
        or (first_shipped_at is null and not is_marked_shipped and ship_by < cast({{ as_of_date() }} as timestamp))
)

select * from final

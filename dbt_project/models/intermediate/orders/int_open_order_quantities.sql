{#- One row per sku: units sold but not shipped yet, over every channel. These units are still in the ERP's
    on-hand count but are no longer available to sell.
    - shop: orders not cancelled/test/voided/refunded whose fulfillment_status is unfulfilled or partial
      (a partial order counts whole: Shopify's order-level status cannot say which lines shipped);
    - eBay: lines not FULFILLED of orders not CANCELED;
    - Amazon: ordered - shipped for Pending, Unshipped and PartiallyShipped orders;
    - Etsy: transactions not shipped (no shipped_at) of receipts not shipped, not canceled, not fully refunded. -#}
with

shop_orders as (
    select * from {{ ref('stg_shop__orders') }}
),

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

ebay_orders as (
    select * from {{ ref('stg_ebay__orders') }}
),

ebay_lines as (
    select * from {{ ref('stg_ebay__order_lines') }}
),

amazon_orders as (
    select * from {{ ref('stg_amazon__orders') }}
),

amazon_items as (
    select * from {{ ref('stg_amazon__order_items') }}
),

etsy_orders as (
    select * from {{ ref('stg_etsy__orders') }}
),

etsy_lines as (
    select * from {{ ref('stg_etsy__order_lines') }}
),

shop_open as (
    select
        order_lines.sku,
        order_lines.net_quantity as open_quantity
    from shop_orders
    inner join order_lines
        on order_lines.orders_model = 'stg_shop__orders'
        and order_lines.order_id = cast(shop_orders.order_id as {{ dbt.type_string() }})
    where shop_orders.cancelled_at is null
        and not shop_orders.is_test
        and coalesce(shop_orders.financial_status, '') not in ('voided', 'refunded')
        and coalesce(shop_orders.fulfillment_status, 'unfulfilled') in ('unfulfilled', 'partial')
),

ebay_open as (
    select
        ebay_lines.sku,
        ebay_lines.quantity as open_quantity
    from ebay_orders
    inner join ebay_lines on ebay_orders.order_id = ebay_lines.order_id
    where coalesce(ebay_orders.cancel_state, '') <> 'CANCELED'
        and coalesce(ebay_lines.fulfillment_status, ebay_orders.fulfillment_status, 'NOT_STARTED') <> 'FULFILLED'
),

amazon_open as (
    select
        amazon_items.sku,
        amazon_items.quantity_ordered - coalesce(amazon_items.quantity_shipped, 0) as open_quantity
    from amazon_orders
    inner join amazon_items on amazon_orders.order_id = amazon_items.order_id
    where amazon_orders.order_status in ('Pending', 'Unshipped', 'PartiallyShipped')
),

etsy_open as (
    select
        etsy_lines.sku,
        etsy_lines.quantity as open_quantity
    from etsy_orders
    inner join etsy_lines on etsy_orders.order_id = etsy_lines.order_id
    where not etsy_orders.is_shipped
        and etsy_lines.shipped_at is null
        and etsy_orders.status not in ('canceled', 'fully refunded')
),

unioned as (
    select * from shop_open
    union all
    select * from ebay_open
    union all
    select * from amazon_open
    union all
    select * from etsy_open
),

final as (
    select
        sku,
        cast(sum(open_quantity) as integer) as open_order_quantity
    from unioned
    where sku is not null
        and open_quantity > 0
    group by sku
)

select * from final

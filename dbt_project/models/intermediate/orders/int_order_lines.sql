{#- One row per order line from every channel (shop, file import, eBay, Amazon, Etsy), with refunded quantities
    netted out and the sku's ERP unit cost valid on the order's date (int_erp_unit_cost_history: the latest cost
    known on or before that day; an order older than the sku's first cost record takes that earliest known cost),
    so a cost change never changes the margin of an order placed before it. order_key = '<source>:<order id>'. Each CTE below tags its
    lines with the staging model of their orders (orders_model), which the seed marketplaces maps to the
    marketplace, as in int_orders. Money: net_line_revenue is in the order's currency, cost_of_goods in the shop
    currency (var shop_currency, the ERP's); the *_reporting columns convert both at the order date's rate
    (macros/fx_conversion.sql) and are null without a rate. -#}
with

shop_lines as (
    select * from {{ ref('stg_shop__order_lines') }}
),

shop_refunds as (
    select * from {{ ref('stg_shop__refunds') }}
),

file_lines as (
    select * from {{ ref('stg_files__order_lines') }}
),

ebay_lines as (
    select * from {{ ref('stg_ebay__order_lines') }}
),

amazon_items as (
    select * from {{ ref('stg_amazon__order_items') }}
),

etsy_lines as (
    select * from {{ ref('stg_etsy__order_lines') }}
),

products as (
    select * from {{ ref('int_products') }}
),

cost_history as (
    select * from {{ ref('int_erp_unit_cost_history') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

shop_orders as (
    select * from {{ ref('stg_shop__orders') }}
),

ebay_orders as (
    select * from {{ ref('stg_ebay__orders') }}
),

amazon_orders as (
    select * from {{ ref('stg_amazon__orders') }}
),

etsy_orders as (
    select * from {{ ref('stg_etsy__orders') }}
),

-- Each order's currency and day, which its lines' money converts at.
order_money as (
    select
        'stg_shop__orders' as orders_model,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        currency,
        created_at as ordered_at
    from shop_orders
    union all
    select
        'stg_files__order_lines' as orders_model,
        order_id,
        max(currency) as currency,
        min(ordered_at) as ordered_at
    from file_lines
    group by order_id
    union all
    select
        'stg_ebay__orders' as orders_model,
        order_id,
        currency,
        created_at as ordered_at
    from ebay_orders
    union all
    select
        'stg_amazon__orders' as orders_model,
        order_id,
        currency,
        created_at as ordered_at
    from amazon_orders
    union all
    select
        'stg_etsy__orders' as orders_model,
        order_id,
        currency,
        created_at as ordered_at
    from etsy_orders
),

refunded_per_line as (
    select
        order_line_id,
        sum(quantity) as refunded_quantity,
        sum(refunded_amount) as refunded_amount
    from shop_refunds
    group by order_line_id
),

shop as (
    select
        'stg_shop__orders' as orders_model,
        cast(shop_lines.order_id as {{ dbt.type_string() }}) as order_id,
        cast(shop_lines.order_line_id as {{ dbt.type_string() }}) as line_ref,
        shop_lines.sku,
        shop_lines.quantity,
        shop_lines.quantity - coalesce(refunded_per_line.refunded_quantity, 0) as net_quantity,
        shop_lines.unit_price * shop_lines.quantity - coalesce(shop_lines.total_discount, 0)
        - coalesce(refunded_per_line.refunded_amount, 0) as net_line_revenue,
        shop_lines.loaded_at
    from shop_lines
    left join refunded_per_line on shop_lines.order_line_id = refunded_per_line.order_line_id
),

-- The import's line_price is a unit price (as in Shopify's CSV export); files without lines have no sku.
file_import as (
    select
        'stg_files__order_lines' as orders_model,
        order_id,
        cast(line_number as {{ dbt.type_string() }}) as line_ref,
        sku,
        coalesce(quantity, 1) as quantity,
        coalesce(quantity, 1) as net_quantity,
        line_amount * coalesce(quantity, 1) as net_line_revenue,
        loaded_at
    from file_lines
    where sku is not null
),

ebay as (
    select
        'stg_ebay__orders' as orders_model,
        order_id,
        order_line_id as line_ref,
        sku,
        quantity,
        quantity as net_quantity,
        line_amount as net_line_revenue,
        loaded_at
    from ebay_lines
),

amazon as (
    select
        'stg_amazon__orders' as orders_model,
        order_id,
        order_item_id as line_ref,
        sku,
        quantity_ordered as quantity,
        quantity_ordered as net_quantity,
        line_amount as net_line_revenue,
        loaded_at
    from amazon_items
),

-- Etsy's transaction price is per unit; the receipt's discount stays at order level (int_orders).
etsy as (
    select
        'stg_etsy__orders' as orders_model,
        order_id,
        order_line_id as line_ref,
        sku,
        quantity,
        quantity as net_quantity,
        line_amount as net_line_revenue,
        loaded_at
    from etsy_lines
),

unioned as (
    select * from shop
    union all
    select * from file_import
    union all
    select * from ebay
    union all
    select * from amazon
    union all
    select * from etsy
),

-- Each (sku, order day) with the day of the cost valid then: the latest cost day on or before it (a cost row sorts
-- before a line of its own day), else the sku's first. A running max over days, not a range join: the history
-- grows by one row per sku and stock file.
sku_days as (
    select
        unioned.sku,
        cast(order_money.ordered_at as date) as order_date
    from unioned
    inner join order_money
        on unioned.orders_model = order_money.orders_model
        and unioned.order_id = order_money.order_id
    where unioned.sku is not null
    group by unioned.sku, cast(order_money.ordered_at as date)
),

days_and_costs as (
    select
        sku,
        order_date as on_day,
        1 as is_order_day,
        cast(null as date) as cost_date
    from sku_days
    union all
    select
        sku,
        cost_date as on_day,
        0 as is_order_day,
        cost_date
    from cost_history
),

order_day_costs as (
    select
        sku,
        on_day as order_date,
        is_order_day,
        coalesce(
            max(cost_date) over (
                partition by sku order by on_day, is_order_day rows between unbounded preceding and current row
            ),
            min(cost_date) over (partition by sku)
        ) as cost_date
    from days_and_costs
),

costs_at_order_date as (
    select
        order_day_costs.sku,
        order_day_costs.order_date,
        cost_history.unit_cost
    from order_day_costs
    inner join cost_history
        on order_day_costs.sku = cost_history.sku
        and order_day_costs.cost_date = cost_history.cost_date
    where order_day_costs.is_order_day = 1
),

final as (
    select
        marketplaces.marketplace || ':' || unioned.order_id || '#' || unioned.line_ref as order_line_key,
        marketplaces.marketplace || ':' || unioned.order_id as order_key,
        unioned.order_id,
        marketplaces.marketplace as order_source,
        unioned.orders_model,
        unioned.line_ref,
        unioned.sku,
        products.product_title,
        products.category,
        unioned.quantity,
        unioned.net_quantity,
        cast(unioned.net_line_revenue as decimal(18, 2)) as net_line_revenue,
        costs_at_order_date.unit_cost,
        cast(unioned.net_quantity * costs_at_order_date.unit_cost as decimal(18, 2)) as cost_of_goods,
        order_money.currency,
        {{ reporting_currency() }} as reporting_currency,
        {{ to_reporting_currency('unioned.net_line_revenue', 'order_money.currency', 'line_fx') }}
            as net_line_revenue_reporting,
        {{ to_reporting_currency('unioned.net_quantity * costs_at_order_date.unit_cost', shop_currency(), 'cost_fx') }}
            as cost_of_goods_reporting,
        unioned.loaded_at
    from unioned
    left join marketplaces on unioned.orders_model = marketplaces.orders_model
    left join products on unioned.sku = products.sku
    left join order_money
        on unioned.orders_model = order_money.orders_model
        and unioned.order_id = order_money.order_id
    left join costs_at_order_date
        on unioned.sku = costs_at_order_date.sku
        and cast(order_money.ordered_at as date) = costs_at_order_date.order_date
    {{ fx_rate_join('order_money.currency', 'order_money.ordered_at', 'line_fx') }}
    {{ fx_rate_join(shop_currency(), 'order_money.ordered_at', 'cost_fx') }}
)

select * from final

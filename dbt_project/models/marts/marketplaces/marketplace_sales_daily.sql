{#- One row per (sales_date, marketplace, sku) with a sale on that day, for every order source of the seed
    marketplaces (the own shop included, with no fees). Valid orders only (int_orders.is_valid). Units and money
    from int_order_lines (units = net of refunds; returned_units = refunded units: the shop's refunds are netted
    there, the marketplaces' come from int_marketplace_returns and are netted here, on the sale's date), fees
    from int_marketplace_fees on the order's date. Money in the
    reporting currency; margin = net revenue - fees - cost of goods, null where any part has no rate or cost.
    Stock cover: the sku's current on hand (latest ERP snapshot, int_products) / its average daily units on that
    marketplace over the 28 days ending on sales_date; null without sales in those days. -#}
with

lines as (
    select * from {{ ref('int_order_lines') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

fees as (
    select * from {{ ref('int_marketplace_fees') }}
),

products as (
    select * from {{ ref('int_products') }}
),

marketplace_returns as (
    select * from {{ ref('int_marketplace_returns') }}
),

order_returns as (
    select
        order_key,
        sku,
        sum(refunded_quantity) as returned_units,
        sum(refunded_amount_reporting) as refunded_reporting,
        count(*) - count(refunded_amount_reporting) as returns_without_rate,
        sum(returned_cost_of_goods_reporting) as returned_cost_reporting,
        count(*) - count(returned_cost_of_goods_reporting) as returns_without_cost
    from marketplace_returns
    group by order_key, sku
),

line_sales as (
    select
        orders.order_date as sales_date,
        lines.order_source as marketplace,
        lines.order_key,
        lines.sku,
        sum(lines.net_quantity) as units,
        sum(lines.quantity - lines.net_quantity) as returned_units,
        sum(lines.net_line_revenue_reporting) as net_revenue_reporting,
        count(*) - count(lines.net_line_revenue_reporting) as lines_without_rate,
        sum(lines.cost_of_goods_reporting) as cost_of_goods_reporting,
        count(*) - count(lines.cost_of_goods_reporting) as lines_without_cost
    from lines
    inner join orders on lines.order_key = orders.order_key
    where orders.is_valid and lines.sku is not null
    group by orders.order_date, lines.order_source, lines.order_key, lines.sku
),

line_sales_net as (
    select
        line_sales.sales_date,
        line_sales.marketplace,
        line_sales.order_key,
        line_sales.sku,
        line_sales.units - coalesce(order_returns.returned_units, 0) as units,
        line_sales.returned_units + coalesce(order_returns.returned_units, 0) as returned_units,
        line_sales.net_revenue_reporting - coalesce(order_returns.refunded_reporting, 0) as net_revenue_reporting,
        line_sales.lines_without_rate + coalesce(order_returns.returns_without_rate, 0) as lines_without_rate,
        line_sales.cost_of_goods_reporting - coalesce(order_returns.returned_cost_reporting, 0)
            as cost_of_goods_reporting,
        line_sales.lines_without_cost + coalesce(order_returns.returns_without_cost, 0) as lines_without_cost
    from line_sales
    left join order_returns on line_sales.order_key = order_returns.order_key and line_sales.sku = order_returns.sku
),

with_fees as (
    select
        line_sales_net.*,
        coalesce(fees.fee_amount_reporting, case when fees.order_key is null then 0 end) as fee_amount_reporting
    from line_sales_net
    left join fees on line_sales_net.order_key = fees.order_key and line_sales_net.sku = fees.sku
),

daily as (
    select
        sales_date,
        marketplace,
        sku,
        sum(units) as units,
        sum(returned_units) as returned_units,
        case when sum(lines_without_rate) = 0 then sum(net_revenue_reporting) end as net_revenue_reporting,
        case when count(*) = count(fee_amount_reporting) then sum(fee_amount_reporting) end as fee_amount_reporting,
        case when sum(lines_without_cost) = 0 then sum(cost_of_goods_reporting) end as cost_of_goods_reporting
    from with_fees
    group by sales_date, marketplace, sku
),

rolling as (
    select
        *,
        sum(units) over (
            partition by marketplace, sku order by sales_date
            range between interval '27 days' preceding and current row
        ) / 28.0 as avg_daily_units_28d
    from daily
),

final as (
    select
        rolling.sales_date,
        cast(rolling.marketplace as {{ dbt.type_string() }}) as marketplace,
        cast(rolling.sku as {{ dbt.type_string() }}) as sku,
        cast(rolling.units as integer) as units,
        cast(rolling.returned_units as integer) as returned_units,
        {{ reporting_currency() }} as reporting_currency,
        cast(rolling.net_revenue_reporting as decimal(18, 2)) as net_revenue_reporting,
        cast(rolling.fee_amount_reporting as decimal(18, 2)) as fee_amount_reporting,
        cast(rolling.cost_of_goods_reporting as decimal(18, 2)) as cost_of_goods_reporting,
        cast(
            rolling.net_revenue_reporting - rolling.fee_amount_reporting - rolling.cost_of_goods_reporting
            as decimal(18, 2)
        ) as margin_reporting,
        cast(products.on_hand as integer) as on_hand,
        cast(rolling.avg_daily_units_28d as decimal(18, 4)) as avg_daily_units_28d,
        cast(
            case when rolling.avg_daily_units_28d > 0 then products.on_hand / rolling.avg_daily_units_28d end
            as decimal(18, 1)
        ) as stock_cover_days
    from rolling
    left join products on rolling.sku = products.sku
)

select * from final

{#- One row per sku sold in the 90 days up to the as-of date (every channel), ranked by what it earns for the
    stock it ties up and for the advertising it needs.
    margin_90d: net revenue - marketplace fees - cost of goods over those days (marketplace_sales_daily, reporting
    currency; days whose margin is unknown are left out).
    margin_per_stock_unit = margin_90d / current on hand (int_products): what a unit of stock earned; null
    without stock.
    margin_per_ad_spend = margin_90d / the sku's share of the ad spend of those days. Ad platforms report spend
    per campaign, not per sku (int_ad_spend_daily), so the spend is allocated by the sku's share of net revenue;
    null without spend.
    score = mean of the two ratios' percent ranks among the skus that have them (0..1; a missing ratio counts 0),
    best_rank 1 = highest score. -#}
with

sales as (
    select * from {{ ref('marketplace_sales_daily') }}
),

products as (
    select * from {{ ref('int_products') }}
),

ad_spend as (
    select * from {{ ref('int_ad_spend_daily') }}
),

window_sales as (
    select
        sku,
        sum(units) as units_90d,
        sum(net_revenue_reporting) as net_revenue_90d,
        sum(fee_amount_reporting) as fees_90d,
        sum(margin_reporting) as margin_90d
    from sales
    where sales_date > {{ as_of_date() }} - 90 and sales_date <= {{ as_of_date() }}
    group by sku
),

window_spend as (
    select sum(spend_reporting) as spend_90d
    from ad_spend
    where date_day > {{ as_of_date() }} - 90 and date_day <= {{ as_of_date() }}
),

ratios as (
    select
        window_sales.*,
        products.on_hand,
        window_spend.spend_90d * window_sales.net_revenue_90d
        / nullif(sum(window_sales.net_revenue_90d) over (), 0) as allocated_spend_90d,
        window_sales.margin_90d / nullif(products.on_hand, 0) as margin_per_stock_unit
    from window_sales
    left join products on window_sales.sku = products.sku
    cross join window_spend
),

ranked as (
    select
        *,
        margin_90d / nullif(allocated_spend_90d, 0) as margin_per_ad_spend
    from ratios
),

scored as (
    select
        *,
        (
            coalesce(case when margin_per_stock_unit is not null then
                    percent_rank() over (partition by margin_per_stock_unit is null order by margin_per_stock_unit)
            end, 0)
            + coalesce(case when margin_per_ad_spend is not null then
                    percent_rank() over (partition by margin_per_ad_spend is null order by margin_per_ad_spend)
            end, 0)
        ) / 2.0 as score
    from ranked
),

final as (
    select
        cast(sku as {{ dbt.type_string() }}) as sku,
        cast(units_90d as integer) as units_90d,
        {{ reporting_currency() }} as reporting_currency,
        cast(net_revenue_90d as decimal(18, 2)) as net_revenue_90d,
        cast(fees_90d as decimal(18, 2)) as fees_90d,
        cast(margin_90d as decimal(18, 2)) as margin_90d,
        cast(on_hand as integer) as on_hand,
        cast(allocated_spend_90d as decimal(18, 2)) as allocated_spend_90d,
        cast(margin_per_stock_unit as decimal(18, 4)) as margin_per_stock_unit,
        cast(margin_per_ad_spend as decimal(18, 4)) as margin_per_ad_spend,
        cast(score as decimal(6, 4)) as score,
        cast(row_number() over (order by score desc, margin_90d desc nulls last, sku asc) as integer) as best_rank
    from scored
)

select * from final

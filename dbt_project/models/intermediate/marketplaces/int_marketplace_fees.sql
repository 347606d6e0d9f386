{#- One row per (order_key, sku, currency): the marketplace fees of each order and sku, from eBay's fee lines
    (the line's sku through stg_ebay__order_lines) and Amazon's fee breakdowns (the item's sku). A fee without
    an order (a subscription, an account charge) is no order's and stays out. Each CTE tags its rows with the
    staging model of the marketplace's orders, which the seed marketplaces maps to the marketplace, as in
    int_orders. Money: fee_amount in the currency the marketplace charged it in; fee_amount_reporting converts
    each fee at its posting date's rate (macros/fx_conversion.sql), null when a rate is missing. -#}
with

ebay_fees as (
    select * from {{ ref('stg_ebay_finances__fees') }}
),

ebay_lines as (
    select * from {{ ref('stg_ebay__order_lines') }}
),

amazon_fees as (
    select * from {{ ref('stg_amazon_finances__fees') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

ebay as (
    select
        'stg_ebay__orders' as orders_model,
        ebay_fees.order_id,
        ebay_lines.sku,
        ebay_fees.fee_amount,
        ebay_fees.currency,
        ebay_fees.posted_at
    from ebay_fees
    left join ebay_lines on ebay_fees.order_line_id = ebay_lines.order_line_id
    where ebay_fees.order_id is not null
),

amazon as (
    select
        'stg_amazon__orders' as orders_model,
        order_id,
        sku,
        fee_amount,
        currency,
        posted_at
    from amazon_fees
    where order_id is not null
),

unioned as (
    select * from ebay
    union all
    select * from amazon
),

converted as (
    select
        marketplaces.marketplace,
        marketplaces.marketplace || ':' || unioned.order_id as order_key,
        unioned.order_id,
        coalesce(unioned.sku, '') as sku,
        unioned.currency,
        unioned.fee_amount,
        {{ to_reporting_currency('unioned.fee_amount', 'unioned.currency', 'fee_fx') }} as fee_amount_reporting,
        unioned.posted_at
    from unioned
    inner join marketplaces on unioned.orders_model = marketplaces.orders_model
    {{ fx_rate_join('unioned.currency', 'unioned.posted_at', 'fee_fx') }}
),

final as (
    select
        order_key,
        sku,
        currency,
        max(marketplace) as marketplace,
        max(order_id) as order_id,
        cast(sum(fee_amount) as decimal(18, 2)) as fee_amount,
        {{ reporting_currency() }} as reporting_currency,
        -- A fee without a rate makes the order's reporting fee unknown rather than too small.
        case
            when count(*) = count(fee_amount_reporting) then cast(sum(fee_amount_reporting) as decimal(18, 2))
        end as fee_amount_reporting,
        count(*) as fee_lines,
        min(posted_at) as first_posted_at
    from converted
    group by order_key, sku, currency
)

select * from final

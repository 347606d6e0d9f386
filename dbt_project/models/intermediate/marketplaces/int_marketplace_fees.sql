{#- One row per (order_key, sku, currency): the marketplace fees of each order and sku, from eBay's fee lines
    (the line's sku through stg_ebay__order_lines), Amazon's fee breakdowns (the item's sku) and Etsy's ledger
    fee entries. An Etsy fee is the receipt's, not a line's: it is spread over the receipt's lines in proportion
    to their amounts (price x quantity; equally when they add up to zero), each share rounded to the cent and the
    rounding remainder put on the largest line, so the shares add up to the fee; a fee for a receipt whose lines
    are not loaded stays whole with sku ''. A fee without an order (a subscription, an account charge, an Etsy
    listing fee) is no order's and stays out. Each CTE tags its rows with the
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

etsy_fees as (
    select * from {{ ref('stg_etsy_finances__fees') }}
),

etsy_lines as (
    select * from {{ ref('stg_etsy__order_lines') }}
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

etsy_line_weights as (
    select
        order_id,
        order_line_id,
        sku,
        line_amount,
        sum(line_amount) over (partition by order_id) as order_amount,
        count(*) over (partition by order_id) as order_line_count,
        row_number() over (partition by order_id order by line_amount desc, order_line_id asc) as line_rank
    from etsy_lines
),

etsy_shares as (
    select
        etsy_fees.entry_id,
        etsy_fees.order_id,
        etsy_line_weights.sku,
        etsy_line_weights.line_rank,
        etsy_fees.fee_amount,
        etsy_fees.currency,
        etsy_fees.posted_at,
        case
            when etsy_line_weights.order_line_id is null then etsy_fees.fee_amount
            when etsy_line_weights.order_amount = 0
                then round(cast(etsy_fees.fee_amount / etsy_line_weights.order_line_count as decimal(18, 6)), 2)
            -- Rounded from six decimals, so a half cent rounds the same on every warehouse.
            else round(cast(
                    etsy_fees.fee_amount * etsy_line_weights.line_amount / etsy_line_weights.order_amount
                    as decimal(18, 6)
                ), 2)
        end as fee_share
    from etsy_fees
    left join etsy_line_weights on etsy_fees.order_id = etsy_line_weights.order_id
    where etsy_fees.order_id is not null
),

etsy as (
    select
        'stg_etsy__orders' as orders_model,
        order_id,
        sku,
        -- The largest line takes what rounding the shares left over.
        case
            when line_rank = 1 then fee_share + fee_amount - sum(fee_share) over (partition by entry_id)
            else fee_share
        end as fee_amount,
        currency,
        posted_at
    from etsy_shares
),

unioned as (
    select * from ebay
    union all
    select * from amazon
    union all
    select * from etsy
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

{#- One row per (refund, order line) of a third-party marketplace: what the marketplace paid back to the buyer
    for the line, from the data Narrowcast already reads. eBay: REFUND transactions of the Finances API, the
    amount spread over the lines the refund names (all the order's lines when it names none) by line amount.
    Amazon: Refund transactions of the Finances API, per item sku, on the order's first item of that sku. Etsy:
    every refund of the receipt (ShopReceipt.refunds, partial ones included), spread over the receipt's lines by
    line amount like eBay's and capped at each line's amount (the rest of a whole refund is shipping and tax);
    a receipt whose status is 'fully refunded' but whose refunds were never read returns every line in full.
    Units: Amazon's item quantity; on eBay and Etsy a line counts as returned only when its whole amount came
    back (a partial refund is money back, not a returned unit). The own shop's refunds are netted in
    int_order_lines already and are not repeated here. -#}
with

ebay_refunds as (
    select * from {{ ref('stg_ebay_finances__refunds') }}
),

amazon_refunds as (
    select * from {{ ref('stg_amazon_finances__refunds') }}
),

etsy_orders as (
    select * from {{ ref('stg_etsy__orders') }}
),

etsy_refunds as (
    select * from {{ ref('stg_etsy__refunds') }}
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

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

ebay_refund_lines as (
    select
        ebay_refunds.refund_id,
        ebay_refunds.order_id,
        ebay_lines.order_line_id as line_ref,
        ebay_lines.sku,
        ebay_lines.quantity,
        ebay_lines.line_amount,
        ebay_refunds.refunded_amount * ebay_lines.line_amount / nullif(
            sum(ebay_lines.line_amount) over (partition by ebay_refunds.refund_id), 0
        ) as refunded_amount,
        ebay_refunds.currency,
        ebay_refunds.refunded_at
    from ebay_refunds
    inner join ebay_lines
        on ebay_refunds.order_id = ebay_lines.order_id
        and (ebay_refunds.order_line_id is null or ebay_refunds.order_line_id = ebay_lines.order_line_id)
),

ebay as (
    select
        'stg_ebay__orders' as orders_model,
        refund_id,
        order_id,
        line_ref,
        sku,
        case when refunded_amount >= line_amount then quantity else 0 end as refunded_quantity,
        refunded_amount,
        currency,
        refunded_at
    from ebay_refund_lines
),

amazon_first_items as (
    select
        order_id,
        sku,
        min(order_item_id) as order_item_id
    from amazon_items
    group by order_id, sku
),

amazon as (
    select
        'stg_amazon__orders' as orders_model,
        amazon_refunds.refund_id,
        amazon_refunds.order_id,
        amazon_first_items.order_item_id as line_ref,
        amazon_refunds.sku,
        amazon_refunds.refunded_quantity,
        amazon_refunds.refunded_amount,
        amazon_refunds.currency,
        amazon_refunds.refunded_at
    from amazon_refunds
    inner join amazon_first_items
        on amazon_refunds.order_id = amazon_first_items.order_id
        and amazon_refunds.sku = amazon_first_items.sku
),

etsy_refund_lines as (
    select
        etsy_refunds.refund_id,
        etsy_refunds.order_id,
        etsy_lines.order_line_id as line_ref,
        etsy_lines.sku,
        etsy_lines.quantity,
        etsy_lines.line_amount,
        least(
            etsy_refunds.refunded_amount * etsy_lines.line_amount / nullif(
                sum(etsy_lines.line_amount) over (partition by etsy_refunds.refund_id), 0
            ),
            etsy_lines.line_amount
        ) as refunded_amount,
        etsy_refunds.currency,
        etsy_refunds.refunded_at
    from etsy_refunds
    inner join etsy_lines on etsy_refunds.order_id = etsy_lines.order_id
),

etsy_from_refunds as (
    select
        'stg_etsy__orders' as orders_model,
        refund_id,
        order_id,
        line_ref,
        sku,
        case when refunded_amount >= line_amount then quantity else 0 end as refunded_quantity,
        refunded_amount,
        currency,
        refunded_at
    from etsy_refund_lines
),

-- A fully refunded receipt whose refunds were never read (loaded before they were): every line in full.
etsy_from_status as (
    select
        'stg_etsy__orders' as orders_model,
        'receipt-' || etsy_orders.order_id as refund_id,
        etsy_orders.order_id,
        etsy_lines.order_line_id as line_ref,
        etsy_lines.sku,
        etsy_lines.quantity as refunded_quantity,
        etsy_lines.line_amount as refunded_amount,
        etsy_orders.currency,
        etsy_orders.updated_at as refunded_at
    from etsy_orders
    inner join etsy_lines on etsy_orders.order_id = etsy_lines.order_id
    where etsy_orders.status = 'fully refunded'
        and not exists (
            select 1 from etsy_refunds
            where etsy_refunds.order_id = etsy_orders.order_id
        )
),

unioned as (
    select * from ebay
    union all
    select * from amazon
    union all
    select * from etsy_from_refunds
    union all
    select * from etsy_from_status
),

keyed as (
    select
        unioned.*,
        marketplaces.marketplace,
        marketplaces.marketplace || ':' || unioned.order_id || '#' || unioned.line_ref as order_line_key
    from unioned
    inner join marketplaces on unioned.orders_model = marketplaces.orders_model
),

final as (
    select
        keyed.marketplace || ':' || keyed.refund_id || '#' || keyed.line_ref as return_key,
        keyed.marketplace,
        keyed.marketplace || ':' || keyed.order_id as order_key,
        keyed.order_line_key,
        keyed.order_id,
        keyed.refund_id,
        keyed.sku,
        keyed.refunded_at,
        cast(keyed.refunded_quantity as integer) as refunded_quantity,
        cast(keyed.refunded_amount as decimal(18, 2)) as refunded_amount,
        keyed.currency,
        {{ reporting_currency() }} as reporting_currency,
        {{ to_reporting_currency('keyed.refunded_amount', 'keyed.currency', 'refund_fx') }}
            as refunded_amount_reporting,
        cast(
            order_lines.cost_of_goods_reporting * keyed.refunded_quantity / nullif(order_lines.net_quantity, 0)
            as decimal(18, 2)
        ) as returned_cost_of_goods_reporting
    from keyed
    left join order_lines on keyed.order_line_key = order_lines.order_line_key
    {{ fx_rate_join('keyed.currency', 'keyed.refunded_at', 'refund_fx') }}
)

select * from final

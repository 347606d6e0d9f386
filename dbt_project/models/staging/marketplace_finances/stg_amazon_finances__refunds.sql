{#- One row per (Amazon Refund transaction, item sku): the product price returned to the buyer (the item's
    "ProductCharges" leaves without tax; Amazon posts them negative on a refund, refunded_amount is positive) and
    the item's quantity. Fee credits of the refund reach stg_amazon_finances__fees. -#}
with

transactions as (
    select * from {{ source('amazon_finances', 'amazon_finance_transactions') }}
),

breakdowns as (
    select * from {{ source('amazon_finances', 'amazon_finance_breakdowns') }}
),

-- Each leaf of an item repeats the item's quantity: one row per item first, then per sku.
refunded_items as (
    select
        transactions.transaction_id,
        transactions.order_id,
        breakdowns.item_number,
        breakdowns.sku,
        max(breakdowns.quantity) as quantity,
        sum(breakdowns.amount) as amount,
        max(coalesce(breakdowns.currency, transactions.currency)) as currency,
        max(transactions.posted_date) as posted_date
    from transactions
    inner join breakdowns on transactions.transaction_id = breakdowns.transaction_id
    where
        lower(transactions.transaction_type) = 'refund'
        and transactions.order_id is not null
        and breakdowns.item_number > 0
        and breakdowns.breakdown_path like 'ProductCharges%'
        and lower(breakdowns.breakdown_path) not like '%tax%'
    group by transactions.transaction_id, transactions.order_id, breakdowns.item_number, breakdowns.sku
),

final as (
    select
        cast(transaction_id as {{ dbt.type_string() }}) as refund_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        sku,
        cast(sum(quantity) as integer) as refunded_quantity,
        cast(-sum(amount) as decimal(18, 2)) as refunded_amount,
        upper(max(currency)) as currency,
        max(posted_date) as refunded_at
    from refunded_items
    group by transaction_id, order_id, sku
)

select * from final

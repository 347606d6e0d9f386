{#- One row per fee leaf of an Amazon transaction's item breakdowns: a leaf whose breakdown path names a fee
    ("AmazonFees > Commission", "Expenses > FBA fees", "... > DigitalServicesFee"). Amazon posts charges as
    negative amounts; fee_amount is the cost to the seller (positive for a charge, negative for a fee refunded). -#}
with

breakdowns as (
    select * from {{ source('amazon_finances', 'amazon_finance_breakdowns') }}
),

transactions as (
    select * from {{ source('amazon_finances', 'amazon_finance_transactions') }}
),

fees as (
    select
        cast(breakdowns.transaction_id as {{ dbt.type_string() }}) as transaction_id,
        cast(transactions.order_id as {{ dbt.type_string() }}) as order_id,
        breakdowns.item_number,
        breakdowns.sku,
        breakdowns.breakdown_path as fee_type,
        cast(-breakdowns.amount as decimal(18, 2)) as fee_amount,
        upper(coalesce(breakdowns.currency, transactions.currency)) as currency,
        transactions.posted_date as posted_at
    from breakdowns
    inner join transactions on breakdowns.transaction_id = transactions.transaction_id
    where lower(breakdowns.breakdown_path) like '%fee%'
)

select * from fees

{#- One row per (transaction, order line, fee type) eBay charged or credited back. fee_amount is a cost to the
    seller: positive on a sale, negative on a refund (eBay credits fees back on the refund's own transaction). -#}
with

fee_lines as (
    select * from {{ source('ebay_finances', 'ebay_finance_fee_lines') }}
),

transactions as (
    select * from {{ source('ebay_finances', 'ebay_finance_transactions') }}
),

joined as (
    select
        cast(fee_lines.transaction_id as {{ dbt.type_string() }}) as transaction_id,
        upper(fee_lines.transaction_type) as transaction_type,
        cast(transactions.order_id as {{ dbt.type_string() }}) as order_id,
        cast(fee_lines.line_item_id as {{ dbt.type_string() }}) as order_line_id,
        upper(fee_lines.fee_type) as fee_type,
        cast(
            case when upper(fee_lines.transaction_type) = 'REFUND' then -1 else 1 end * fee_lines.fee_amount
            as decimal(18, 2)
        ) as fee_amount,
        upper(coalesce(fee_lines.currency, transactions.currency)) as currency,
        transactions.transaction_date as posted_at
    from fee_lines
    inner join transactions
        on fee_lines.transaction_id = transactions.transaction_id
        and fee_lines.transaction_type = transactions.transaction_type
)

select * from joined

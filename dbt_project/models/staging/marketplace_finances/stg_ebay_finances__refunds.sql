{#- One row per (eBay REFUND transaction, order line it names). eBay's amount is net of the fees it credits back
    (as on a sale, amount = gross - totalFeeAmount), so the money returned to the buyer is amount +
    total_fee_amount; the credited fees reach stg_ebay_finances__fees. order_line_id is null when the refund
    names no line (an order-level refund). -#}
with

transactions as (
    select * from {{ source('ebay_finances', 'ebay_finance_transactions') }}
),

fee_lines as (
    select * from {{ source('ebay_finances', 'ebay_finance_fee_lines') }}
),

refunds as (
    select
        cast(transaction_id as {{ dbt.type_string() }}) as refund_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(coalesce(amount, 0) + coalesce(total_fee_amount, 0) as decimal(18, 2)) as refunded_amount,
        upper(currency) as currency,
        transaction_date as refunded_at
    from transactions
    where upper(transaction_type) = 'REFUND' and order_id is not null
),

refund_lines as (
    select distinct
        cast(transaction_id as {{ dbt.type_string() }}) as refund_id,
        cast(line_item_id as {{ dbt.type_string() }}) as order_line_id
    from fee_lines
    where upper(transaction_type) = 'REFUND' and line_item_id is not null
),

final as (
    select
        refunds.refund_id,
        refunds.order_id,
        refund_lines.order_line_id,
        refunds.refunded_amount,
        refunds.currency,
        refunds.refunded_at
    from refunds
    left join refund_lines on refunds.refund_id = refund_lines.refund_id
)

select * from final

{#- One row per fee entry of the Etsy payment account ledger (transaction, payment processing, listing, shipping
    label, Offsite Ads fees). order_id is the receipt the fee is for, null for a fee of no order (a listing fee).
    fee_amount is the cost to the seller: positive for a charge, negative for a fee credited back. -#}
with

source as (
    select * from {{ source('etsy_finances', 'etsy_ledger_fees') }}
),

renamed as (
    select
        cast(entry_id as {{ dbt.type_string() }}) as entry_id,
        lower(ledger_type) as fee_type,
        description,
        cast(receipt_id as {{ dbt.type_string() }}) as order_id,
        cast(fee_amount as decimal(18, 2)) as fee_amount,
        upper(currency) as currency,
        cast(created_at as timestamp) as posted_at
    from source
)

select * from renamed

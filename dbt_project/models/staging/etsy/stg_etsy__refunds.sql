with

source as (
    select * from {{ source('etsy', 'etsy_receipt_refunds') }}
),

renamed as (
    select
        cast(refund_key as {{ dbt.type_string() }}) as refund_id,
        cast(receipt_id as {{ dbt.type_string() }}) as order_id,
        cast(refunded_at as timestamp) as refunded_at,
        cast(amount as decimal(18, 2)) as refunded_amount,
        upper(currency) as currency,
        reason,
        status
    from source
)

select * from renamed

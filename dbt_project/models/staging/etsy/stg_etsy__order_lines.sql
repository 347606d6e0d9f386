with

source as (
    select * from {{ source('etsy', 'etsy_receipt_transactions') }}
),

renamed as (
    select
        cast(transaction_id as {{ dbt.type_string() }}) as order_line_id,
        cast(receipt_id as {{ dbt.type_string() }}) as order_id,
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        sku,
        cast(quantity as integer) as quantity,
        cast(price as decimal(18, 2)) as unit_price,
        cast(price * quantity as decimal(18, 2)) as line_amount,
        cast(shipped_at as timestamp) as shipped_at,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

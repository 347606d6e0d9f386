with

source as (
    select * from {{ source('shop', 'shop_refunds') }}
),

renamed as (
    select
        cast(id as bigint) as refund_id,
        cast(order_id as bigint) as order_id,
        cast(line_item_id as bigint) as order_line_id,
        cast(created_at as timestamp) as refunded_at,
        cast(quantity as integer) as quantity,
        cast(subtotal as decimal(18, 2)) as refunded_amount,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

with

source as (
    select * from {{ source('shop', 'shop_order_lines') }}
),

renamed as (
    select
        cast(id as bigint) as order_line_id,
        cast(order_id as bigint) as order_id,
        cast(product_id as bigint) as product_id,
        cast(variant_id as bigint) as variant_id,
        sku,
        title,
        cast(quantity as integer) as quantity,
        cast(price as decimal(18, 2)) as unit_price,
        cast(total_discount as decimal(18, 2)) as total_discount,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

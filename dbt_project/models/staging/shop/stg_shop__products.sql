with

source as (
    select * from {{ source('shop', 'shop_products') }}
),

renamed as (
    select
        cast(product_id as bigint) as product_id,
        cast(variant_id as bigint) as variant_id,
        cast(inventory_item_id as bigint) as inventory_item_id,
        sku,
        title as product_title,
        product_type as category,
        vendor as brand,
        cast(price as decimal(18, 2)) as price,
        cast(compare_at_price as decimal(18, 2)) as compare_at_price,
        lower(status) as status,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at
    from source
)

select * from renamed

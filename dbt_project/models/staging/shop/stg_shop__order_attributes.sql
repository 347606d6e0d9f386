with

source as (
    select * from {{ source('shop', 'shop_order_attributes') }}
),

renamed as (
    select
        cast(order_id as bigint) as order_id,
        name as attribute_name,
        trim(value) as attribute_value
    from source
)

select * from renamed

with

source as (
    select * from {{ source('shop', 'shop_fulfillments') }}
),

renamed as (
    select
        cast(fulfillment_id as bigint) as fulfillment_id,
        cast(order_id as bigint) as order_id,
        cast(line_item_id as bigint) as order_line_id,
        lower(status) as status,
        cast(created_at as timestamp) as shipped_at,
        cast(updated_at as timestamp) as updated_at,
        trim(tracking_company) as carrier,
        trim(tracking_number) as tracking_number,
        tracking_numbers,
        sku,
        cast(quantity as integer) as quantity,
        order_source_name,
        order_source_identifier
    from source
)

select * from renamed

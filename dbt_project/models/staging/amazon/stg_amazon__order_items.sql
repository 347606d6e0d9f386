with

source as (
    select * from {{ source('amazon', 'amazon_order_items') }}
),

renamed as (
    select
        cast(order_item_id as {{ dbt.type_string() }}) as order_item_id,
        cast(amazon_order_id as {{ dbt.type_string() }}) as order_id,
        seller_sku as sku,
        cast(quantity_ordered as integer) as quantity_ordered,
        cast(quantity_shipped as integer) as quantity_shipped,
        -- SP-API ItemPrice is the price of the whole item line (unit price x quantity).
        cast(item_price as decimal(18, 2)) as line_amount,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

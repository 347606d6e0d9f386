with

source as (
    select * from {{ source('ebay', 'ebay_order_lines') }}
),

renamed as (
    select
        cast(line_item_id as {{ dbt.type_string() }}) as order_line_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        sku,
        cast(quantity as integer) as quantity,
        cast(line_item_cost as decimal(18, 2)) as line_amount,
        upper(line_item_fulfillment_status) as fulfillment_status,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

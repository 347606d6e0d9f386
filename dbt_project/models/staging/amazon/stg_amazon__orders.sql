with

source as (
    select * from {{ source('amazon', 'amazon_orders') }}
),

renamed as (
    select
        cast(amazon_order_id as {{ dbt.type_string() }}) as order_id,
        cast(purchase_date as timestamp) as created_at,
        cast(last_update_date as timestamp) as updated_at,
        order_status,
        marketplace_id,
        buyer_email,
        cast(order_total as decimal(18, 2)) as total_price,
        upper(currency) as currency,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

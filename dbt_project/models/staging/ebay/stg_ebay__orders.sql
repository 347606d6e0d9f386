with

source as (
    select * from {{ source('ebay', 'ebay_orders') }}
),

renamed as (
    select
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(creation_date as timestamp) as created_at,
        cast(last_modified_date as timestamp) as updated_at,
        upper(order_fulfillment_status) as fulfillment_status,
        upper(order_payment_status) as payment_status,
        upper(cancel_state) as cancel_state,
        buyer_username,
        buyer_email,
        cast(total as decimal(18, 2)) as total_price,
        upper(currency) as currency,
        marketplace_id,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

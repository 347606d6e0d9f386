with

source as (
    select * from {{ source('shop', 'shop_orders') }}
),

renamed as (
    select
        cast(id as bigint) as order_id,
        cast(order_number as {{ dbt.type_string() }}) as order_number,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        email,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at,
        cast(processed_at as timestamp) as processed_at,
        cast(cancelled_at as timestamp) as cancelled_at,
        lower(financial_status) as financial_status,
        lower(fulfillment_status) as fulfillment_status,
        upper(currency) as currency,
        cast(subtotal_price as decimal(18, 2)) as subtotal_price,
        cast(total_discounts as decimal(18, 2)) as total_discounts,
        cast(total_tax as decimal(18, 2)) as total_tax,
        cast(total_shipping as decimal(18, 2)) as total_shipping,
        cast(total_price as decimal(18, 2)) as total_price,
        discount_codes,
        coalesce(cast(test as boolean), false) as is_test,
        source_name,
        landing_site,
        referring_site,
        upper(billing_country_code) as billing_country_code,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

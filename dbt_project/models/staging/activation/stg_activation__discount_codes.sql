{#- One row per discount code Narrowcast issued (source activation.discount_codes); code_match is the code as
    Shopify compares it (trimmed, case-insensitive). -#}
with

source as (
    select * from {{ source('activation', 'discount_codes') }}
),

renamed as (
    select
        cast(code as {{ dbt.type_string() }}) as code,
        upper(trim(cast(code as {{ dbt.type_string() }}))) as code_match,
        cast(campaign as {{ dbt.type_string() }}) as campaign,
        cast(customer_key as {{ dbt.type_string() }}) as customer_id,
        cast(checkout_id as {{ dbt.type_string() }}) as checkout_id,
        cast(shopify_discount_id as {{ dbt.type_string() }}) as shopify_discount_id,
        cast(value_type as {{ dbt.type_string() }}) as value_type,
        cast(value as decimal(18, 2)) as discount_value,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(usage_limit as integer) as usage_limit,
        cast(starts_at as timestamp) as starts_at,
        cast(expires_at as timestamp) as expires_at,
        cast(created_at as timestamp) as issued_at
    from source
)

select * from renamed

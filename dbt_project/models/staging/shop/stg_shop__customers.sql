with

source as (
    select * from {{ source('shop', 'shop_customers') }}
),

renamed as (
    select
        -- Text like every customer key: the shop's numeric id as the merchant sees it ('207119551').
        cast(id as {{ dbt.type_string() }}) as customer_id,
        email,
        phone,
        first_name,
        last_name,
        cast(accepts_marketing as boolean) as accepts_marketing,
        lower(email_marketing_consent_state) as email_marketing_consent_state,
        cast(email_marketing_consent_updated_at as timestamp) as email_marketing_consent_updated_at,
        upper(country_code) as country_code,
        province as region,
        city,
        tags,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

with

source as (
    select * from {{ source('google_ads', 'google_ads_campaign_criteria') }}
),

renamed as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as account_id,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(criterion_id as {{ dbt.type_string() }}) as criterion_id,
        upper(criterion_type) as criterion_type,
        upper(status) as status,
        user_list,
        coalesce(cast(negative as boolean), false) as is_negative
    from source
)

select * from renamed

with

source as (
    select * from {{ source('meta_ads', 'meta_campaigns') }}
),

renamed as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        campaign_name,
        upper(objective) as objective,
        upper(status) as status,
        upper(effective_status) as effective_status,
        upper(buying_type) as buying_type,
        cast(created_time as timestamp) as created_at,
        cast(updated_time as timestamp) as updated_at
    from source
)

select * from renamed

with

source as (
    select * from {{ source('meta_ads', 'meta_ad_sets') }}
),

renamed as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(adset_id as {{ dbt.type_string() }}) as adset_id,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        adset_name,
        upper(status) as status,
        nullif(custom_audience_ids, '') as custom_audience_ids,
        nullif(custom_audience_names, '') as custom_audience_names,
        nullif(excluded_custom_audience_ids, '') as excluded_custom_audience_ids,
        cast(updated_time as timestamp) as updated_at
    from source
)

select * from renamed

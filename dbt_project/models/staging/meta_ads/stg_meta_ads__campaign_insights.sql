with

source as (
    select * from {{ source('meta_ads', 'meta_ad_insights') }}
),

renamed as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        campaign_name,
        cast(date_start as date) as date_day,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(spend as decimal(18, 2)) as spend,
        cast(purchases as {{ type_double() }}) as conversions,
        cast(purchase_value as decimal(18, 2)) as conversions_value,
        upper(account_currency) as currency
    from source
)

select * from renamed

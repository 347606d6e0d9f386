with

source as (
    select * from {{ source('google_ads', 'google_ads_campaign_stats') }}
),

renamed as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as account_id,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        campaign_name,
        cast(segments_date as date) as date_day,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        -- Google reports cost in micros of the account currency.
        cast(cast(cost_micros as decimal(24, 6)) / 1000000 as decimal(18, 2)) as spend,
        cast(conversions as {{ type_double() }}) as conversions,
        cast(conversions_value as decimal(18, 2)) as conversions_value
    from source
)

select * from renamed

with

source as (
    select * from {{ source('google_ads', 'google_ads_campaigns') }}
),

renamed as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as account_id,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        campaign_name,
        upper(status) as status,
        upper(advertising_channel_type) as advertising_channel_type,
        upper(advertising_channel_sub_type) as advertising_channel_sub_type,
        upper(bidding_strategy_type) as bidding_strategy_type
    from source
)

select * from renamed

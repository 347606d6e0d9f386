with

source as (
    select * from {{ source('klaviyo', 'klaviyo_subscription_events') }}
),

renamed as (
    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        metric_name,
        cast(profile_id as {{ dbt.type_string() }}) as profile_id,
        email,
        {{ normalize_email('email') }} as email_normalized,
        list_name,
        cast(subscribed_at as timestamp) as subscribed_at
    from source
)

select * from renamed

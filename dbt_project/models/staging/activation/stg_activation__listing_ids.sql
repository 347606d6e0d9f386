with

source as (
    select * from {{ source('activation', 'listing_ids') }}
),

renamed as (
    select
        cast(record_key as {{ dbt.type_string() }}) as sku,
        lower(marketplace) as marketplace,
        cast(remote_id as {{ dbt.type_string() }}) as listing_id,
        sync_id,
        cast(first_seen_at as timestamp) as first_seen_at,
        cast(last_confirmed_at as timestamp) as last_confirmed_at,
        cast(ended_at as timestamp) as ended_at,
        ended_at is not null as is_ended
    from source
)

select * from renamed

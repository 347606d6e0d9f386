with

source as (
    select * from {{ source('files', 'file_marketplace_listings') }}
),

renamed as (
    select
        sku,
        lower(marketplace) as marketplace,
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        coalesce(cast(enabled as boolean), true) as is_enabled,
        _file_name as file_name,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

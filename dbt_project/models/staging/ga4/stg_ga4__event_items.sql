with

source as (
    select * from {{ source('ga4', 'ga4_event_items') }}
),

renamed as (
    select
        event_key,
        cast(event_date as date) as event_date,
        cast(item_index as integer) as item_index,
        item_id as sku,
        item_name,
        item_category,
        cast(price as decimal(18, 2)) as price,
        cast(quantity as bigint) as quantity
    from source
)

select * from renamed

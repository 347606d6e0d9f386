with

source as (
    select * from {{ source('files', 'file_catalogue') }}
),

renamed as (
    select
        sku,
        title,
        description,
        brand,
        gtin,
        mpn,
        lower(condition) as condition,
        category,
        image_urls,
        cast(price as decimal(18, 2)) as price,
        upper(currency) as currency,
        parent_sku,
        colour,
        size,
        material,
        _file_name as file_name,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

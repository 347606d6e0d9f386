{#- One row per sku: what an e-mail shows of a product. Title and price from the shop (int_products, shop
    currency); image = the first of the latest catalogue file's image_urls for the sku; product_url = the page
    the sku was last viewed on (GA4 view_item) in the last var product_signal_days days, without query string or
    fragment, which may carry campaign tags or a visitor's details. A sku without either has a null there. -#}
with

products as (
    select * from {{ ref('int_products') }}
),

catalogue_files as (
    select * from {{ ref('stg_files__catalogue') }}
),

item_events as (
    select * from {{ ref('int_web_item_events') }}
    where event_name = 'view_item'
        and page_location is not null
        and event_date > {{ dbt.dateadd('day', -(var('product_signal_days') | int), as_of_date()) }}
        and event_date <= {{ as_of_date() }}
),

latest_catalogue as (
    select
        sku,
        nullif(trim({{ dbt.split_part('image_urls', "'|'", 1) }}), '') as image_url,
        row_number() over (partition by sku order by loaded_at desc, file_name desc) as catalogue_order
    from catalogue_files
),

latest_views as (
    select
        sku,
        page_location,
        row_number() over (partition by sku order by event_at desc, event_key desc) as view_order
    from item_events
),

final as (
    select
        cast(products.sku as {{ dbt.type_string() }}) as sku,
        cast(products.product_title as {{ dbt.type_string() }}) as product_title,
        cast(products.category as {{ dbt.type_string() }}) as category,
        cast(products.price as decimal(18, 2)) as price,
        cast('{{ var("shop_currency") }}' as {{ dbt.type_string() }}) as currency,
        cast(latest_catalogue.image_url as {{ dbt.type_string() }}) as image_url,
        cast(
            {{ dbt.split_part(dbt.split_part('latest_views.page_location', "'?'", 1), "'#'", 1) }}
            as {{ dbt.type_string() }}
        ) as product_url
    from products
    left join latest_catalogue
        on products.sku = latest_catalogue.sku
        and latest_catalogue.catalogue_order = 1
    left join latest_views
        on products.sku = latest_views.sku
        and latest_views.view_order = 1
)

select * from final

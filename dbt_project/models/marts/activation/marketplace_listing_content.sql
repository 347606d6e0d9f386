{#- One row per (sku, marketplace) for every catalogue SKU and every marketplace listing_attribute_map names: the
    content a new listing needs, in the marketplace's terms. The catalogue is the latest catalogue_*.csv row of a
    SKU; a shop product no catalogue file names contributes its title, category, brand and price.
    content_source says which: 'catalogue_file' or 'shop_product' (the shop listing sync creates only the former).
    marketplace_category comes from the seed listing_category_map (eBay categoryId, Amazon productType, Etsy
    taxonomy_id, Shopify productType);
    aspects is a JSON object of the attributes the seed listing_attribute_map marks is_aspect, under the
    marketplace's names. Variants (one parent_sku): variant_skus lists every SKU of the product ('|'), varies_by
    the aspects they differ in with their values (JSON), from which eBay builds one multi-variation listing, Etsy
    one listing with a product per variant and the shop one product with variants. missing_reason lists the fields the seed marks is_required that are empty, and a
    category without a mapping; a row with a reason is refused by the listing sync with that reason.
    quantity follows marketplace_rules (share of ERP on hand (int_erp_stock: a catalogue-file product the shop does
    not sell yet has stock too) - open orders, rounded down, capped; 0 at or below the
    end-when buffer); price is the catalogue's (else the shop's) base price: the stock sync sets the published
    price once the listing exists. -#}
with

catalogue_files as (
    select * from {{ ref('stg_files__catalogue') }}
),

products as (
    select * from {{ ref('int_products') }}
),

-- Stock by ERP record, not by shop product: a catalogue-file product is listed before the shop sells it.
erp_stock as (
    select * from {{ ref('int_erp_stock') }}
),

open_orders as (
    select * from {{ ref('int_open_order_quantities') }}
),

category_map as (
    select * from {{ ref('listing_category_map') }}
),

attribute_map as (
    select * from {{ ref('listing_attribute_map') }}
),

rules as (
    select * from {{ ref('marketplace_rules') }}
),

latest_catalogue as (
    select
        *,
        row_number() over (partition by sku order by loaded_at desc, file_name desc) as catalogue_order
    from catalogue_files
),

catalogue as (
    select
        sku,
        title,
        description,
        brand,
        gtin,
        mpn,
        coalesce(condition, 'new') as condition,
        category,
        image_urls,
        price,
        currency,
        parent_sku,
        colour,
        size,
        material,
        'catalogue_file' as content_source
    from latest_catalogue
    where catalogue_order = 1
    union all
    select
        products.sku,
        products.product_title as title,
        cast(null as {{ dbt.type_string() }}) as description,
        products.brand,
        cast(null as {{ dbt.type_string() }}) as gtin,
        cast(null as {{ dbt.type_string() }}) as mpn,
        'new' as condition,
        products.category,
        cast(null as {{ dbt.type_string() }}) as image_urls,
        products.price,
        {{ shop_currency() }} as currency,
        cast(null as {{ dbt.type_string() }}) as parent_sku,
        cast(null as {{ dbt.type_string() }}) as colour,
        cast(null as {{ dbt.type_string() }}) as size,
        cast(null as {{ dbt.type_string() }}) as material,
        'shop_product' as content_source
    from products
    where products.sku is not null
        and products.status = 'active'
        and products.sku not in (select latest_catalogue.sku from latest_catalogue)
),

listing_marketplaces as (
    select distinct marketplace from attribute_map
),

-- One row per (sku, catalogue field) with the field's value as text, for the required-field and aspect rules.
field_values as (
    {%- set fields = ['title', 'description', 'brand', 'gtin', 'mpn', 'condition', 'image_urls', 'price',
                      'colour', 'size', 'material'] %}
    {%- for field in fields %}
        select
            sku,
            '{{ field }}' as catalogue_field,
            cast({{ field }} as {{ dbt.type_string() }}) as field_value
        from catalogue
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

mapped_fields as (
    select
        field_values.sku,
        attribute_map.marketplace,
        attribute_map.attribute,
        attribute_map.marketplace_attribute,
        attribute_map.is_required,
        attribute_map.is_aspect,
        nullif(trim(field_values.field_value), '') as field_value
    from field_values
    inner join attribute_map on field_values.catalogue_field = attribute_map.attribute
),

missing_fields as (
    select
        sku,
        marketplace,
        {{ dbt.listagg("attribute", "', '", "order by attribute") }} as missing
    from mapped_fields
    where is_required and field_value is null
    group by sku, marketplace
),

aspect_pairs as (
    select
        sku,
        marketplace,
        '"' || marketplace_attribute || '": "' || replace(field_value, '"', '\"') || '"' as aspect_pair
    from mapped_fields
    where is_aspect and field_value is not null
),

aspects as (
    select
        sku,
        marketplace,
        '{' || {{ dbt.listagg("aspect_pair", "', '", "order by aspect_pair") }} || '}' as aspects
    from aspect_pairs
    group by sku, marketplace
),

variant_lists as (
    select
        parent_sku,
        {{ dbt.listagg("sku", "'|'", "order by sku") }} as variant_skus
    from catalogue
    where parent_sku is not null
    group by parent_sku
),

variant_values as (
    select distinct
        catalogue.parent_sku,
        mapped_fields.marketplace,
        mapped_fields.marketplace_attribute,
        '"' || replace(mapped_fields.field_value, '"', '\"') || '"' as value_literal
    from mapped_fields
    inner join catalogue on mapped_fields.sku = catalogue.sku
    where catalogue.parent_sku is not null and mapped_fields.is_aspect and mapped_fields.field_value is not null
),

-- The aspects the variants of one product differ in (eBay's variesBy), with every value they take.
varying_aspects as (
    select
        parent_sku,
        marketplace,
        '"' || marketplace_attribute || '": ['
        || {{ dbt.listagg("value_literal", "', '", "order by value_literal") }} || ']' as specification
    from variant_values
    group by parent_sku, marketplace, marketplace_attribute
    having count(*) > 1
),

varies as (
    select
        parent_sku,
        marketplace,
        '{' || {{ dbt.listagg("specification", "', '", "order by specification") }} || '}' as varies_by
    from varying_aspects
    group by parent_sku, marketplace
),

listed as (
    select
        catalogue.*,
        listing_marketplaces.marketplace,
        category_map.marketplace_category,
        missing_fields.missing,
        aspects.aspects,
        variant_lists.variant_skus,
        varies.varies_by,
        case
            when erp_stock.on_hand is null then 0
            when erp_stock.on_hand - coalesce(open_orders.open_order_quantity, 0) < 0 then 0
            else erp_stock.on_hand - coalesce(open_orders.open_order_quantity, 0)
        end as available_quantity,
        rules.stock_share,
        rules.max_listed_quantity,
        rules.end_when_at_or_below
    from catalogue
    cross join listing_marketplaces
    left join category_map
        on coalesce(catalogue.category, 'uncategorised') = category_map.category
        and listing_marketplaces.marketplace = category_map.marketplace
    left join missing_fields
        on catalogue.sku = missing_fields.sku and listing_marketplaces.marketplace = missing_fields.marketplace
    left join aspects on catalogue.sku = aspects.sku and listing_marketplaces.marketplace = aspects.marketplace
    left join variant_lists on catalogue.parent_sku = variant_lists.parent_sku
    left join varies
        on catalogue.parent_sku = varies.parent_sku and listing_marketplaces.marketplace = varies.marketplace
    left join erp_stock on catalogue.sku = erp_stock.sku
    left join open_orders on catalogue.sku = open_orders.sku
    left join rules on listing_marketplaces.marketplace = rules.marketplace
),

final as (
    select
        cast(sku as {{ dbt.type_string() }}) as sku,
        cast(marketplace as {{ dbt.type_string() }}) as marketplace,
        cast(parent_sku as {{ dbt.type_string() }}) as parent_sku,
        cast(variant_skus as {{ dbt.type_string() }}) as variant_skus,
        cast(varies_by as {{ dbt.type_string() }}) as varies_by,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(description as {{ dbt.type_string() }}) as description,
        cast(brand as {{ dbt.type_string() }}) as brand,
        cast(gtin as {{ dbt.type_string() }}) as gtin,
        cast(mpn as {{ dbt.type_string() }}) as mpn,
        cast(condition as {{ dbt.type_string() }}) as condition,
        cast(image_urls as {{ dbt.type_string() }}) as image_urls,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(content_source as {{ dbt.type_string() }}) as content_source,
        cast(marketplace_category as {{ dbt.type_string() }}) as marketplace_category,
        cast(aspects as {{ dbt.type_string() }}) as aspects,
        cast(price as decimal(18, 2)) as price,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(case
            when stock_share is null then available_quantity
            when available_quantity <= end_when_at_or_below then 0
            when floor(available_quantity * stock_share) > max_listed_quantity then max_listed_quantity
            else floor(available_quantity * stock_share)
        end as integer) as quantity,
        missing is null and marketplace_category is not null as is_ready,
        cast(case
            when missing is not null and marketplace_category is null
                then 'missing ' || missing || '; no ' || marketplace || ' category mapped for '
                    || coalesce(category, 'uncategorised')
            when missing is not null then 'missing ' || missing
            when marketplace_category is null
                then 'no ' || marketplace || ' category mapped for ' || coalesce(category, 'uncategorised')
        end as {{ dbt.type_string() }}) as missing_reason
    from listed
)

select * from final

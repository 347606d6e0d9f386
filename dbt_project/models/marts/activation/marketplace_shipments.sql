{#- One row per shipment (marketplace order + tracking number) of a third-party marketplace's order, in the terms
    of that marketplace's API: its order id, its line ids and its carrier code. Packages come from the shipments
    files and the shop's fulfillments (int_shipment_lines); source says which knew it. -#}
with

shipment_lines as (
    select * from {{ ref('int_shipment_lines') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

carrier_codes as (
    select * from {{ ref('carrier_codes') }}
),

-- Each marketplace's order lines, tagged with the orders model whose orders they belong to (the marketplaces
-- seed names the marketplace of each orders model).
ebay_order_lines as (
    select
        order_id,
        order_line_id,
        sku,
        'stg_ebay__orders' as orders_model
    from {{ ref('stg_ebay__order_lines') }}
),

amazon_order_lines as (
    select
        order_id,
        order_item_id as order_line_id,
        sku,
        'stg_amazon__orders' as orders_model
    from {{ ref('stg_amazon__order_items') }}
),

etsy_order_lines as (
    select
        order_id,
        order_line_id,
        sku,
        'stg_etsy__orders' as orders_model
    from {{ ref('stg_etsy__order_lines') }}
),

order_lines as (
    select * from ebay_order_lines
    union all
    select * from amazon_order_lines
    union all
    select * from etsy_order_lines
),

-- An order listing one SKU on two lines ships against the first of them.
marketplace_lines as (
    select
        marketplaces.marketplace,
        order_lines.order_id,
        order_lines.order_line_id,
        order_lines.sku,
        row_number() over (
            partition by marketplaces.marketplace, order_lines.order_id, order_lines.sku
            order by order_lines.order_line_id
        ) as sku_rank
    from order_lines
    inner join marketplaces
        on order_lines.orders_model = marketplaces.orders_model
),

marketplace_shipment_lines as (
    select
        shipment_lines.*,
        marketplace_lines.order_line_id
    from shipment_lines
    inner join marketplaces
        on shipment_lines.marketplace = marketplaces.marketplace
    left join marketplace_lines
        on shipment_lines.marketplace = marketplace_lines.marketplace
        and shipment_lines.order_id = marketplace_lines.order_id
        and shipment_lines.sku = marketplace_lines.sku
        and marketplace_lines.sku_rank = 1
    where not marketplaces.is_own_shop
),

packages as (
    select
        marketplace,
        order_id,
        tracking_number,
        min(carrier) as carrier,
        min(shipped_at) as shipped_at,
        min(source) as source,
        count(*) as line_count,
        count(order_line_id) as matched_line_count,
        {{ dbt.listagg("case when order_line_id is null then sku end", "', '", "order by sku") }} as unmatched_skus,
        '[' || {{ dbt.listagg(
            "case when order_line_id is not null then '{\"line_item_id\":\"' || order_line_id || '\",\"quantity\":' || cast(quantity as " ~ dbt.type_string() ~ ") || '}' end",
            "','", "order by order_line_id") }} || ']' as line_items
    from marketplace_shipment_lines
    group by marketplace, order_id, tracking_number
),

-- Amazon's packageReferenceId: a positive number unique within the order, the package's place in ship order.
numbered as (
    select
        *,
        row_number() over (partition by marketplace, order_id order by shipped_at, tracking_number)
            as package_reference_id
    from packages
),

final as (
    select
        numbered.marketplace || ':' || numbered.order_id || ':' || numbered.tracking_number as shipment_id,
        numbered.marketplace,
        numbered.order_id as marketplace_order_id,
        cast(numbered.package_reference_id as bigint) as package_reference_id,
        numbered.carrier,
        carrier_codes.carrier_code,
        nullif(carrier_codes.carrier_name, '') as carrier_name,
        numbered.tracking_number,
        numbered.shipped_at,
        {{ iso8601_utc('numbered.shipped_at') }} as shipped_at_iso,
        numbered.line_items,
        case
            when carrier_codes.carrier_code is null or numbered.matched_line_count < numbered.line_count
                then 'unmatched'
            else 'ready'
        end as status,
        case
            when carrier_codes.carrier_code is null
                then 'carrier ' || numbered.carrier || ' has no code for this marketplace in seed carrier_codes'
            when numbered.matched_line_count < numbered.line_count
                then 'SKU(s) ' || numbered.unmatched_skus || ' not on the marketplace order'
        end as status_reason,
        numbered.source
    from numbered
    left join carrier_codes
        on lower(numbered.carrier) = lower(carrier_codes.carrier)
        and numbered.marketplace = carrier_codes.marketplace
)

select * from final

{#- One row per shipped line of a package: (marketplace, marketplace order id, tracking number, sku), from the
    shipments files and from the fulfillments recorded in the shop's admin. A package is known by its
    marketplace, order and tracking number; one the files and the shop both know is one package, whose lines
    come from the files (the merchant's own statement) and whose source says both. A fulfillment counts for a
    marketplace when its order names that marketplace's order id (seed shop_marketplace_orders); orders of the
    shop itself keep the own shop's marketplace (seed marketplaces). Only successful fulfillments with a
    tracking number are shipments. -#}
with

file_lines as (
    select * from {{ ref('stg_files__shipments') }}
),

fulfillments as (
    select * from {{ ref('stg_shop__fulfillments') }}
),

order_attributes as (
    select * from {{ ref('stg_shop__order_attributes') }}
),

rules as (
    select * from {{ ref('shop_marketplace_orders') }}
),

own_shop as (
    select marketplace from {{ ref('marketplaces') }}
    where orders_model = 'stg_shop__orders'
),

-- Every rule an order's fulfillment matches, with the marketplace order id that rule reads.
candidate_matches as (
    select
        fulfillments.fulfillment_id,
        fulfillments.order_line_id,
        rules.priority,
        rules.marketplace,
        case
            when coalesce(rules.attribute_name, '') = '' then fulfillments.order_source_identifier
            else order_attributes.attribute_value
        end as marketplace_order_id
    from fulfillments
    inner join rules
        on coalesce(rules.source_name, '') = ''
        or lower(coalesce(fulfillments.order_source_name, '')) = lower(rules.source_name)
    left join order_attributes
        on fulfillments.order_id = order_attributes.order_id
        and rules.attribute_name = order_attributes.attribute_name
),

first_matches as (
    select
        *,
        row_number() over (partition by fulfillment_id, order_line_id order by priority) as match_rank
    from candidate_matches
    where coalesce(marketplace_order_id, '') != ''
),

shop_lines as (
    select
        coalesce(first_matches.marketplace, own_shop.marketplace) as marketplace,
        coalesce(
            first_matches.marketplace_order_id, cast(fulfillments.order_id as {{ dbt.type_string() }})
        ) as order_id,
        fulfillments.carrier,
        fulfillments.tracking_number,
        fulfillments.shipped_at,
        fulfillments.sku,
        fulfillments.quantity
    from fulfillments
    cross join own_shop
    left join first_matches
        on fulfillments.fulfillment_id = first_matches.fulfillment_id
        and fulfillments.order_line_id = first_matches.order_line_id
        and first_matches.match_rank = 1
    where fulfillments.status = 'success' and coalesce(fulfillments.tracking_number, '') != ''
),

-- The same SKU on two lines of one fulfillment ships as one line of the package, as in the files.
shop_packages as (
    select
        marketplace,
        order_id,
        tracking_number,
        sku,
        min(carrier) as carrier,
        min(shipped_at) as shipped_at,
        cast(sum(quantity) as integer) as quantity
    from shop_lines
    group by marketplace, order_id, tracking_number, sku
),

file_packages as (
    select distinct
        marketplace,
        order_id,
        tracking_number
    from file_lines
),

shop_package_keys as (
    select distinct
        marketplace,
        order_id,
        tracking_number
    from shop_packages
),

from_files as (
    select
        file_lines.marketplace,
        file_lines.order_id,
        file_lines.tracking_number,
        file_lines.sku,
        file_lines.carrier,
        file_lines.shipped_at,
        file_lines.quantity,
        case when shop_package_keys.order_id is null then 'shipment_file' else 'both' end as source
    from file_lines
    left join shop_package_keys
        on file_lines.marketplace = shop_package_keys.marketplace
        and file_lines.order_id = shop_package_keys.order_id
        and file_lines.tracking_number = shop_package_keys.tracking_number
),

from_shop as (
    select
        shop_packages.marketplace,
        shop_packages.order_id,
        shop_packages.tracking_number,
        shop_packages.sku,
        shop_packages.carrier,
        shop_packages.shipped_at,
        shop_packages.quantity,
        'shop_fulfillment' as source
    from shop_packages
    left join file_packages
        on shop_packages.marketplace = file_packages.marketplace
        and shop_packages.order_id = file_packages.order_id
        and shop_packages.tracking_number = file_packages.tracking_number
    where file_packages.order_id is null
),

final as (
    select * from from_files
    union all
    select * from from_shop
)

select * from final

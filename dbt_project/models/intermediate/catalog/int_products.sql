{#- One row per sku: shop catalogue attributes with the latest ERP stock snapshot (on hand summed over
    warehouses, unit cost averaged weighted by stock) of that sku. -#}
with

products as (
    select * from {{ ref('stg_shop__products') }}
),

latest_stock as (
    select * from {{ ref('int_erp_stock') }}
),

-- A sku should map to one variant; when the shop has duplicates the most recently updated one wins.
deduplicated_products as (
    select
        *,
        row_number() over (partition by sku order by updated_at desc, variant_id desc) as sku_order
    from products
    where sku is not null
),

final as (
    select
        deduplicated_products.sku,
        deduplicated_products.product_id,
        deduplicated_products.variant_id,
        deduplicated_products.inventory_item_id,
        deduplicated_products.product_title,
        coalesce(deduplicated_products.category, 'uncategorised') as category,
        deduplicated_products.brand,
        deduplicated_products.price,
        deduplicated_products.compare_at_price,
        deduplicated_products.status,
        latest_stock.unit_cost,
        latest_stock.on_hand,
        latest_stock.snapshot_at as stock_snapshot_at
    from deduplicated_products
    left join latest_stock on deduplicated_products.sku = latest_stock.sku
    where deduplicated_products.sku_order = 1
)

select * from final

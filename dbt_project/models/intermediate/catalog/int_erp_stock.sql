{#- One row per sku in the latest ERP stock snapshot of that sku: on hand summed over warehouses, unit cost
    averaged weighted by stock. Also SKUs the shop does not sell (yet): a catalogue-file merchant's new product
    has stock before the shop has the product. -#}
with

stock as (
    select * from {{ ref('stg_files__erp_stock_snapshots') }}
),

latest_snapshot as (
    select
        sku,
        max(snapshot_at) as snapshot_at
    from stock
    group by sku
),

final as (
    select
        stock.sku,
        latest_snapshot.snapshot_at,
        sum(stock.on_hand) as on_hand,
        cast(
            coalesce(
                sum(stock.unit_cost * stock.on_hand) / nullif(sum(stock.on_hand), 0),
                avg(stock.unit_cost)
            ) as decimal(18, 2)
        ) as unit_cost
    from stock
    inner join latest_snapshot
        on stock.sku = latest_snapshot.sku
        and stock.snapshot_at = latest_snapshot.snapshot_at
    group by stock.sku, latest_snapshot.snapshot_at
)

select * from final

{#- One row per (sku, cost_date): the sku's unit cost as the ERP stock files state it on that day, and the days it
    is the cost of an order (valid_from inclusive, valid_until exclusive). A day's cost is that of the sku's
    latest snapshot of the day, averaged over warehouses weighted by on-hand units (as int_erp_stock). The rule
    int_order_lines prices an order line by: the latest cost known on or before the order's date; an order older
    than the sku's first cost record takes that earliest known cost (valid_from is null on the first record).
    loaded_at is the latest load time of the stock rows the day's cost comes from. -#}
with

stock as (
    select
        *,
        cast(snapshot_at as date) as cost_date
    from {{ ref('stg_files__erp_stock_snapshots') }}
),

day_snapshot as (
    select
        sku,
        cost_date,
        max(snapshot_at) as snapshot_at
    from stock
    group by sku, cost_date
),

daily_cost as (
    select
        stock.sku,
        stock.cost_date,
        cast(
            coalesce(
                sum(stock.unit_cost * stock.on_hand) / nullif(sum(stock.on_hand), 0),
                avg(stock.unit_cost)
            ) as decimal(18, 2)
        ) as unit_cost,
        max(stock.loaded_at) as loaded_at
    from stock
    inner join day_snapshot
        on stock.sku = day_snapshot.sku
        and stock.snapshot_at = day_snapshot.snapshot_at
    group by stock.sku, stock.cost_date
),

final as (
    select
        sku,
        cost_date,
        unit_cost,
        case
            when lag(cost_date) over (partition by sku order by cost_date) is not null then cost_date
        end as valid_from,
        lead(cost_date) over (partition by sku order by cost_date) as valid_until,
        loaded_at
    from daily_cost
)

select * from final

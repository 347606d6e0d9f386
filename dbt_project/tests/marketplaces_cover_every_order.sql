{#- Fails with one row per staging model whose orders or order lines int_orders / int_order_lines read but
    the seed marketplaces does not list: those orders would have no marketplace, no order key and no channel.
    Add the marketplace to seeds/marketplaces.csv with that orders_model. -#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

read_models as (
    select
        orders_model,
        'int_orders' as read_by
    from orders
    union all
    select
        orders_model,
        'int_order_lines' as read_by
    from order_lines
),

final as (
    select
        read_models.orders_model,
        read_models.read_by,
        count(*) as rows_without_marketplace
    from read_models
    left join marketplaces on read_models.orders_model = marketplaces.orders_model
    where marketplaces.orders_model is null
    group by read_models.orders_model, read_models.read_by
)

select * from final

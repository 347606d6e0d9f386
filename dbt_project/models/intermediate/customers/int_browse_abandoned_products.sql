{#- One row per (customer, sku) the customer abandoned while browsing, as of as_of_date: the product page was viewed
    at least var browse_abandon_min_views times in the last var browse_abandon_days days, and since the first of
    those views the customer neither added it to a cart nor began a checkout with it nor bought it (no GA4
    purchase of it, no valid order line of it from any channel); and it can still be bought (active, not known
    to be out of stock in the latest ERP snapshot). The browse_abandoner segment and journey read this model,
    so they cannot disagree on who qualifies. -#}
with

signals as (
    select * from {{ ref('int_customer_product_signals') }}
    where event_date > {{ dbt.dateadd('day', -(var('browse_abandon_days') | int), as_of_date()) }}
),

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

products as (
    select * from {{ ref('int_products') }}
),

views as (
    select
        customer_id,
        sku,
        sum(signal_count) as views,
        min(first_at) as first_viewed_at,
        max(last_at) as last_viewed_at
    from signals
    where signal = 'view_item'
    group by customer_id, sku
    having sum(signal_count) >= {{ var('browse_abandon_min_views') | int }}
),

web_progress as (
    select
        customer_id,
        sku,
        max(last_at) as last_progressed_at
    from signals
    where signal in ('add_to_cart', 'begin_checkout', 'purchase')
    group by customer_id, sku
),

bought as (
    select
        orders.customer_id,
        order_lines.sku,
        max(orders.ordered_at) as last_ordered_at
    from order_lines
    inner join orders on order_lines.order_key = orders.order_key
    where orders.is_valid
        and orders.customer_id is not null
        and order_lines.net_quantity > 0
        and orders.order_date <= {{ as_of_date() }}
    group by orders.customer_id, order_lines.sku
),

final as (
    select
        cast(views.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(views.sku as {{ dbt.type_string() }}) as sku,
        cast(views.views as integer) as views,
        cast(views.first_viewed_at as timestamp) as first_viewed_at,
        cast(views.last_viewed_at as timestamp) as last_viewed_at
    from views
    inner join products
        on views.sku = products.sku
        and products.status = 'active'
        and (products.on_hand is null or products.on_hand > 0)
    left join web_progress
        on views.customer_id = web_progress.customer_id
        and views.sku = web_progress.sku
        and views.first_viewed_at <= web_progress.last_progressed_at
    left join bought
        on views.customer_id = bought.customer_id
        and views.sku = bought.sku
        and views.first_viewed_at <= bought.last_ordered_at
    where web_progress.sku is null
        and bought.sku is null
)

select * from final

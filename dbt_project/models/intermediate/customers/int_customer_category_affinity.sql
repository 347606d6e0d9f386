{#- One row per customer with weighted browsing signals in the last var product_signal_days days up to as_of_date
    (int_customer_product_signals): the product category they browse most. Each signal counts its weight from
    the seed product_signal_weights (view_item 1, add_to_cart 3, ...); signals without a weight there (purchase)
    do not count, so the affinity is about browsing, not buying. top_category_share = the top category's weight
    / all weight; ties go to the alphabetically first category so the choice is stable. -#}
with

signals as (
    select * from {{ ref('int_customer_product_signals') }}
),

weights as (
    select * from {{ ref('product_signal_weights') }}
),

products as (
    select * from {{ ref('int_products') }}
),

weighted as (
    select
        signals.customer_id,
        products.category,
        sum(signals.signal_count * weights.weight) as category_weight
    from signals
    inner join weights on signals.signal = weights.signal
    inner join products on signals.sku = products.sku
    group by signals.customer_id, products.category
),

ranked as (
    select
        customer_id,
        category,
        category_weight,
        sum(category_weight) over (partition by customer_id) as total_weight,
        row_number() over (partition by customer_id order by category_weight desc, category asc) as category_rank
    from weighted
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(category as {{ dbt.type_string() }}) as top_category,
        cast(category_weight as {{ type_double() }}) as top_category_weight,
        cast(total_weight as {{ type_double() }}) as total_weight,
        cast(category_weight / nullif(total_weight, 0) as {{ type_double() }}) as top_category_share
    from ranked
    where category_rank = 1
        and total_weight > 0
)

select * from final

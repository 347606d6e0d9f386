{#- One row per customer with at least one valid order up to as_of_date: how regularly they buy. The interval
    between consecutive valid orders is in calendar days (two orders on one day: 0). mean and median interval
    need two orders (null otherwise); is_due_to_reorder needs var due_to_reorder_min_orders orders (3: two
    intervals at least, one alone says little about a habit) and is true when the days since the last valid
    order exceed var due_to_reorder_factor times the customer's median interval (the median, so one long gap
    does not hide the habit). A median interval of 0 (orders placed on the same day) shows no rhythm: never due.
    The intervals are the gaps between the customer's order dates in date order: orders of one day give gaps of
    0 whichever comes first, so the window sorts by the date alone (a cheaper sort than by time and key). -#}
with

orders as (
    select
        customer_id,
        ordered_at,
        order_date
    from {{ ref('int_orders') }}
    where is_valid
        and customer_id is not null
        and order_date <= {{ as_of_date() }}
),

sequenced as (
    select
        customer_id,
        ordered_at,
        order_date,
        lag(order_date) over (partition by customer_id order by order_date) as previous_order_date
    from orders
),

intervals as (
    select
        customer_id,
        ordered_at,
        order_date,
        case
            when previous_order_date is not null
                then {{ dbt.datediff('previous_order_date', 'order_date', 'day') }}
        end as interval_days
    from sequenced
),

per_customer as (
    select
        customer_id,
        count(*) as valid_orders,
        max(ordered_at) as last_ordered_at,
        max(order_date) as last_order_date,
        avg(cast(interval_days as {{ type_double() }})) as mean_interval_days,
        percentile_cont(0.5) within group (order by interval_days) as median_interval_days
    from intervals
    group by customer_id
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(valid_orders as integer) as valid_orders,
        cast(last_ordered_at as timestamp) as last_ordered_at,
        cast({{ dbt.datediff('last_order_date', as_of_date(), 'day') }} as integer) as days_since_last_order,  -- noqa: LT05
        cast(mean_interval_days as {{ type_double() }}) as mean_interval_days,
        cast(median_interval_days as {{ type_double() }}) as median_interval_days,
        coalesce(
            valid_orders >= {{ var('due_to_reorder_min_orders') | int }}
            and median_interval_days > 0
            and {{ dbt.datediff('last_order_date', as_of_date(), 'day') }}
            > {{ var('due_to_reorder_factor') | float }} * median_interval_days,
            false
        ) as is_due_to_reorder
    from per_customer
)

select * from final

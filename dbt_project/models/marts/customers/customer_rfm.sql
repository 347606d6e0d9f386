{#- One row per customer with at least one valid order on or before as_of_date (see macro as_of_date()). -#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

segment_map as (
    select * from {{ ref('rfm_segment_map') }}
),

valid_orders as (
    select
        customer_id,
        ordered_at,
        order_date,
        net_revenue_reporting
    from orders
    where is_valid
        and customer_id is not null
        and order_date <= {{ as_of_date() }}
),

per_customer as (
    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        max(order_date) as last_order_date,
        {{ as_of_date() }} as as_of_date,
        count(*) as frequency,
        -- In the reporting currency; an order without a rate counts in frequency, not here (fx_conversion_gaps).
        coalesce(sum(net_revenue_reporting), 0) as monetary
    from valid_orders
    group by customer_id
),

measured as (
    select
        customer_id,
        first_order_at,
        last_order_at,
        {{ dbt.datediff('last_order_date', 'as_of_date', 'day') }} as recency_days,  -- noqa: LT05
        frequency,
        cast(monetary as decimal(18, 2)) as monetary,
        cast(monetary / frequency as decimal(18, 2)) as avg_order_value
    from per_customer
),

-- Ties share the lowest rank, so equal values always get equal scores. Recency is ranked by days descending:
-- the most recent buyers (fewest days) get the highest percent rank. Each rank is computed once, then scored.
ranked as (
    select
        *,
        {{ percent_rank_tied('recency_days desc') }} as r_percent_rank,
        {{ percent_rank_tied('frequency') }} as f_percent_rank,
        {{ percent_rank_tied('monetary') }} as m_percent_rank
    from measured
),

scored as (
    select
        *,
        {{ quintile_score('r_percent_rank') }} as r_score,
        {{ quintile_score('f_percent_rank') }} as f_score,
        {{ quintile_score('m_percent_rank') }} as m_score
    from ranked
),

-- The segment map resolved once for each of the 25 (R, F) cells (first match by priority), so every
-- customer needs one equality join instead of a range join and a window over all their matches.
score_values as (
    select 1 as score
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
),

segment_candidates as (
    select
        r_values.score as r_score,
        f_values.score as f_score,
        segment_map.segment,
        row_number() over (
            partition by r_values.score, f_values.score order by segment_map.priority
        ) as match_order
    from score_values as r_values
    cross join score_values as f_values
    inner join segment_map
        on r_values.score between segment_map.r_min and segment_map.r_max
        and f_values.score between segment_map.f_min and segment_map.f_max
),

segment_grid as (
    select
        r_score,
        f_score,
        segment
    from segment_candidates
    where match_order = 1
),

final as (
    select
        cast(scored.customer_id as text) as customer_id,
        scored.first_order_at,
        scored.last_order_at,
        cast(scored.recency_days as integer) as recency_days,
        cast(scored.frequency as integer) as frequency,
        scored.monetary,
        scored.avg_order_value,
        cast(scored.r_score as integer) as r_score,
        cast(scored.f_score as integer) as f_score,
        cast(scored.m_score as integer) as m_score,
        cast(
            cast(scored.r_score as {{ dbt.type_string() }})
            || cast(scored.f_score as {{ dbt.type_string() }})
            || cast(scored.m_score as {{ dbt.type_string() }}) as text
        ) as rfm_score,
        cast(coalesce(segment_grid.segment, 'Unclassified') as text) as rfm_segment
    from scored
    left join segment_grid
        on scored.r_score = segment_grid.r_score
        and scored.f_score = segment_grid.f_score
)

select * from final

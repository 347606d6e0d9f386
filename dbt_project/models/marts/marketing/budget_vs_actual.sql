{#- One row per (month, channel) present in the plan or in the actuals. The plan comes from the newest budget
    file drop (raw.file_budget_plan) for that month and channel, else from the seed budget_plan that the
    marketing team edits. Actuals come from kpi_channel_daily. variance = actual - planned; variance_pct =
    variance / planned (null when nothing was planned). -#}
with

file_plan as (
    select * from {{ ref('stg_files__budget_plans') }}
),

seed_plan as (
    select * from {{ ref('budget_plan') }}
),

daily as (
    select * from {{ ref('kpi_channel_daily') }}
),

latest_file_plan as (
    select
        *,
        row_number() over (
            partition by plan_month, channel order by loaded_at desc, file_name desc
        ) as file_order
    from file_plan
),

plan_rows as (
    select
        plan_month,
        channel,
        planned_spend,
        planned_sessions,
        planned_orders,
        planned_revenue
    from latest_file_plan
    where file_order = 1
    union all
    select
        seed_plan.month as plan_month,
        lower(seed_plan.channel) as channel,
        seed_plan.planned_spend,
        seed_plan.planned_sessions,
        seed_plan.planned_orders,
        seed_plan.planned_revenue
    from seed_plan
    left join latest_file_plan
        on seed_plan.month = latest_file_plan.plan_month
        and lower(seed_plan.channel) = latest_file_plan.channel
    where latest_file_plan.plan_month is null
),

plan as (
    select
        cast(cast(plan_month || '-01' as date) as date) as month,
        channel,
        cast(sum(planned_spend) as decimal(18, 2)) as planned_spend,
        cast(sum(planned_sessions) as bigint) as planned_sessions,
        cast(sum(planned_orders) as bigint) as planned_orders,
        cast(sum(planned_revenue) as decimal(18, 2)) as planned_revenue
    from plan_rows
    group by plan_month, channel
),

actual as (
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month,
        channel,
        cast(sum(spend) as decimal(18, 2)) as actual_spend,
        cast(sum(sessions) as bigint) as actual_sessions,
        cast(sum(orders) as bigint) as actual_orders,
        cast(sum(revenue) as decimal(18, 2)) as actual_revenue
    from daily
    group by cast({{ dbt.date_trunc('month', 'date_day') }} as date), channel
),

joined as (
    select
        coalesce(plan.month, actual.month) as month,
        coalesce(plan.channel, actual.channel) as channel,
        coalesce(plan.planned_spend, 0) as planned_spend,
        coalesce(actual.actual_spend, 0) as actual_spend,
        coalesce(plan.planned_sessions, 0) as planned_sessions,
        coalesce(actual.actual_sessions, 0) as actual_sessions,
        coalesce(plan.planned_orders, 0) as planned_orders,
        coalesce(actual.actual_orders, 0) as actual_orders,
        coalesce(plan.planned_revenue, 0) as planned_revenue,
        coalesce(actual.actual_revenue, 0) as actual_revenue
    from plan
    full outer join actual
        on plan.month = actual.month
        and plan.channel = actual.channel
),

final as (
    select
        month,
        cast(channel as text) as channel,
        cast(planned_spend as decimal(18, 2)) as planned_spend,
        cast(actual_spend as decimal(18, 2)) as actual_spend,
        cast(actual_spend - planned_spend as decimal(18, 2)) as spend_variance,
        cast((actual_spend - planned_spend) / nullif(planned_spend, 0) as {{ type_double() }})
            as spend_variance_pct,
        planned_sessions,
        actual_sessions,
        planned_orders,
        actual_orders,
        cast(planned_revenue as decimal(18, 2)) as planned_revenue,
        cast(actual_revenue as decimal(18, 2)) as actual_revenue,
        cast(actual_revenue - planned_revenue as decimal(18, 2)) as revenue_variance,
        cast((actual_revenue - planned_revenue) / nullif(planned_revenue, 0) as {{ type_double() }})
            as revenue_variance_pct,
        cast(planned_revenue / nullif(planned_spend, 0) as {{ type_double() }}) as planned_roas,
        cast(actual_revenue / nullif(actual_spend, 0) as {{ type_double() }}) as actual_roas
    from joined
)

select * from final

{#- One row per (month, channel) present in the plan or in the actuals. The plan comes from int_budget_plan (the
    newest budget file drop for that month and channel, else the seed budget_plan). Actuals come from
    kpi_channel_daily. Money is in the reporting currency (var reporting_currency): a plan row in another
    currency converts at the rate of the month's first day; one without a rate is left out (fx_conversion_gaps).
    variance = actual - planned; variance_pct = variance / planned (null when nothing was planned). -#}
with

budget_plan as (
    select * from {{ ref('int_budget_plan') }}
),

daily as (
    select * from {{ ref('kpi_channel_daily') }}
),

plan as (
    select
        month,
        channel,
        cast(coalesce(sum(planned_spend_reporting), 0) as decimal(18, 2)) as planned_spend,
        cast(sum(planned_sessions) as bigint) as planned_sessions,
        cast(sum(planned_orders) as bigint) as planned_orders,
        cast(coalesce(sum(planned_revenue_reporting), 0) as decimal(18, 2)) as planned_revenue
    from budget_plan
    group by month, channel
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
        cast({{ reporting_currency() }} as text) as currency,
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

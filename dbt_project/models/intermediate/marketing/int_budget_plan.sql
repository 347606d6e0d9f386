{#- One row per (plan_month, channel): the plan of the newest budget file drop (raw.file_budget_plan) for that
    month and channel, else of the seed budget_plan the marketing team edits. Amounts are in the row's currency
    (empty: the reporting currency) and, as *_reporting, in the reporting currency at the rate of the month's
    first day (macros/fx_conversion.sql); null when there is none yet (a future month planned in another
    currency), which fx_conversion_gaps counts. -#}
with

file_plan as (
    select * from {{ ref('stg_files__budget_plans') }}
),

seed_plan as (
    select * from {{ ref('budget_plan') }}
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
        planned_revenue,
        currency
    from latest_file_plan
    where file_order = 1
    union all
    select
        seed_plan.month as plan_month,
        lower(seed_plan.channel) as channel,
        seed_plan.planned_spend,
        seed_plan.planned_sessions,
        seed_plan.planned_orders,
        seed_plan.planned_revenue,
        upper(nullif(trim(seed_plan.currency), '')) as currency
    from seed_plan
    left join latest_file_plan
        on seed_plan.month = latest_file_plan.plan_month
        and lower(seed_plan.channel) = latest_file_plan.channel
    where latest_file_plan.plan_month is null
),

dated as (
    select
        cast(plan_month || '-01' as date) as month,
        channel,
        cast(planned_spend as decimal(18, 2)) as planned_spend,
        cast(planned_sessions as bigint) as planned_sessions,
        cast(planned_orders as bigint) as planned_orders,
        cast(planned_revenue as decimal(18, 2)) as planned_revenue,
        coalesce(currency, {{ reporting_currency() }}) as currency
    from plan_rows
),

final as (
    select
        cast(dated.month as {{ dbt.type_string() }}) || '|' || dated.channel as budget_plan_key,
        dated.month,
        dated.channel,
        dated.planned_spend,
        dated.planned_sessions,
        dated.planned_orders,
        dated.planned_revenue,
        dated.currency,
        {{ reporting_currency() }} as reporting_currency,
        {{ to_reporting_currency('dated.planned_spend', 'dated.currency', 'plan_fx') }} as planned_spend_reporting,
        {{ to_reporting_currency('dated.planned_revenue', 'dated.currency', 'plan_fx') }} as planned_revenue_reporting
    from dated
    {{ fx_rate_join('dated.currency', 'dated.month', 'plan_fx') }}
)

select * from final

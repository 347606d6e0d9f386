{#- One row per (model, currency) with amounts that could not be converted into the reporting currency (var
    reporting_currency) because the currency had no rate on their date (no ECB fixing or fx_rates file within
    var fx_max_rate_age_days). Such amounts are left out of every money sum, never added up in their own
    currency; this model says how many rows and how much, over which dates, so the dashboard can show it.
    amount is in the currency itself. -#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

ad_spend as (
    select * from {{ ref('int_ad_spend_daily') }}
),

budget_plan as (
    select * from {{ ref('int_budget_plan') }}
),

gaps as (
    select
        'int_orders' as model_name,
        'net_revenue of valid orders' as measure,
        coalesce(currency, '(none)') as currency,
        order_date as value_date,
        net_revenue as amount
    from orders
    where is_valid
        and net_revenue_reporting is null
        and net_revenue is not null
    union all
    select
        'int_ad_spend_daily' as model_name,
        'spend' as measure,
        coalesce(currency, '(none)') as currency,
        date_day as value_date,
        spend as amount
    from ad_spend
    where spend_reporting is null
    union all
    select
        'int_budget_plan' as model_name,
        'planned_spend' as measure,
        currency,
        month as value_date,
        planned_spend as amount
    from budget_plan
    where planned_spend_reporting is null
),

final as (
    select
        cast(model_name || '|' || measure || '|' || currency as text) as gap_key,
        cast(model_name as text) as model_name,
        cast(measure as text) as measure,
        cast(currency as text) as currency,
        cast({{ reporting_currency() }} as text) as reporting_currency,
        cast(min(value_date) as date) as first_date,
        cast(max(value_date) as date) as last_date,
        cast(count(*) as bigint) as row_count,
        cast(sum(amount) as decimal(18, 2)) as amount
    from gaps
    group by model_name, measure, currency
)

select * from final

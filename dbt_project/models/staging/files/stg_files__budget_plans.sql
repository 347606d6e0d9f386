with

source as (
    select * from {{ source('files', 'file_budget_plan') }}
),

renamed as (
    select
        month as plan_month,
        lower(channel) as channel,
        cast(planned_spend as decimal(18, 2)) as planned_spend,
        cast(planned_sessions as bigint) as planned_sessions,
        cast(planned_orders as bigint) as planned_orders,
        cast(planned_revenue as decimal(18, 2)) as planned_revenue,
        upper(nullif(trim(currency), '')) as currency,
        _file_name as file_name,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

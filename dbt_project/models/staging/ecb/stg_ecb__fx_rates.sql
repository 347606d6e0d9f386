with

source as (
    select * from {{ source('ecb', 'fx_rates') }}
),

renamed as (
    select
        cast(rate_date as date) as rate_date,
        upper(currency) as currency,
        cast(rate_per_eur as decimal(18, 6)) as rate_per_eur,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

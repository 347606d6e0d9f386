with

source as (
    select * from {{ source('files', 'file_fx_rates') }}
),

renamed as (
    select
        -- The file's column is named date, a type name: quoted so every warehouse reads it as a column.
        cast("date" as date) as rate_date,  -- noqa: RF06
        upper(currency) as currency,
        cast(rate_per_eur as decimal(18, 6)) as rate_per_eur,
        _file_name as file_name,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

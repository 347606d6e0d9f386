{#- One row per (rate_date, currency): the rate that holds on every calendar day, and the factor to the reporting
    currency (var reporting_currency). Rates come from the ECB (stg_ecb__fx_rates) and the merchant's
    fx_rates_*.csv files (stg_files__fx_rates); a file's rate overrides the ECB's of the same day and currency.
    The ECB fixes no rate on weekends and TARGET holidays: such a day uses the latest earlier rate (published_on
    says which), for at most var fx_max_rate_age_days days, after which the currency has no rate (a currency the
    ECB stopped quoting is not converted at a stale rate forever). EUR is 1 on every day any rate holds.
    rate_to_reporting = units of the reporting currency per unit of the currency, via EUR:
    rate_per_eur(reporting) / rate_per_eur(currency); null when the reporting currency has no rate that day. -#}
with

ecb_rates as (
    select * from {{ ref('stg_ecb__fx_rates') }}
),

file_rates as (
    select * from {{ ref('stg_files__fx_rates') }}
),

published as (
    select
        rate_date,
        currency,
        rate_per_eur,
        'merchant_file' as rate_source
    from file_rates
    union all
    select
        ecb_rates.rate_date,
        ecb_rates.currency,
        ecb_rates.rate_per_eur,
        'ecb' as rate_source
    from ecb_rates
    left join file_rates
        on ecb_rates.rate_date = file_rates.rate_date
        and ecb_rates.currency = file_rates.currency
    where file_rates.currency is null
),

with_next as (
    select
        *,
        lead(rate_date) over (partition by currency order by rate_date) as next_rate_date
    from published
),

-- 0..fx_max_rate_age_days: how far a rate reaches forward into days without a fixing.
day_offsets as (
    select offset_list.day_offset
    from (
        values
        {%- for offset in range((var('fx_max_rate_age_days', 7) | int) + 1) %}
            ({{ offset }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as offset_list (day_offset)
),

filled as (
    select
        cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'with_next.rate_date') }} as date) as rate_date,
        with_next.currency,
        with_next.rate_per_eur,
        with_next.rate_source,
        with_next.rate_date as published_on
    from with_next
    cross join day_offsets
    where
        with_next.next_rate_date is null
        or cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'with_next.rate_date') }} as date)
        < with_next.next_rate_date
),

euro as (
    select distinct
        rate_date,
        'EUR' as currency,
        cast(1 as decimal(18, 6)) as rate_per_eur,
        'euro' as rate_source,
        rate_date as published_on
    from filled
),

all_rates as (
    select * from filled
    where currency <> 'EUR'
    union all
    select * from euro
),

reporting as (
    select
        rate_date,
        rate_per_eur
    from all_rates
    where currency = {{ reporting_currency() }}
),

final as (
    select
        all_rates.currency || ':' || cast(all_rates.rate_date as {{ dbt.type_string() }}) as fx_rate_key,
        all_rates.rate_date,
        all_rates.currency,
        all_rates.rate_per_eur,
        all_rates.rate_source,
        all_rates.published_on,
        {{ reporting_currency() }} as reporting_currency,
        cast(reporting.rate_per_eur as {{ type_double() }})
        / cast(all_rates.rate_per_eur as {{ type_double() }}) as rate_to_reporting
    from all_rates
    left join reporting on all_rates.rate_date = reporting.rate_date
)

select * from final

{#- The reference date of the customer marts: var `as_of_date` ('YYYY-MM-DD') or, when empty, the date the run
    started (UTC), so every model of one run agrees on "today". -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', '') -%}
    {%- if value in (none, '') -%}
        {%- set value = run_started_at.strftime('%Y-%m-%d') -%}
    {%- elif modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) is none -%}
        {{ exceptions.raise_compiler_error("var as_of_date=" ~ value ~ " is not a date in YYYY-MM-DD form") }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

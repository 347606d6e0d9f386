{#- The reference date of the customer marts: var `as_of_date` ('YYYY-MM-DD'), else the environment's
    NARROWCAST_AS_OF_DATE (what the DAGs set: dbt re-parses only the files that read a changed environment variable,
    but the whole project when a var changes), else the date the run started (UTC), so every model of one run
    agrees on "today". -#}
{% macro as_of_date() -%}
    {#- The environment is read only when dbt executes: what a parse reads of it, dbt records for the file, and a
        changed value then re-parses every model that calls this macro (~1 s); no model's configuration depends
        on the date, so its SQL is all that needs it. -#}
    {%- set value = var('as_of_date', '') or (env_var('NARROWCAST_AS_OF_DATE', '') if execute else '') -%}
    {%- if value in (none, '') -%}
        {%- set value = run_started_at.strftime('%Y-%m-%d') -%}
    {%- elif modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) is none -%}
        {{ exceptions.raise_compiler_error("as_of_date=" ~ value ~ " is not a date in YYYY-MM-DD form") }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

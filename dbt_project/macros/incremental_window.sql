{#- The newest value of `column` in the table this incremental model already built, read before the model's SQL
    runs; none on a full build or when the table is empty (the model then rebuilds whole). Cutoffs derived from it
    are literal dates in the SQL, which reach the scans below them: a scalar subquery on {{ this }} would not, and
    every day ever loaded would be read. -#}
{% macro newest_built_value(column) -%}
    {%- if is_incremental() and execute -%}
        {{ return(run_query('select max(' ~ column ~ ') from ' ~ this).columns[0].values()[0]) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The literal date `days` days before `day` (a date value, e.g. from newest_built_value), in the adapter's SQL. -#}
{% macro days_before(day, days) -%}
    {{ return(dbt.dateadd('day', -(days | int), "cast('" ~ day ~ "' as date)")) }}
{%- endmacro %}

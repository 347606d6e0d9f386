{#- The first day the scoped data tests of the large incremental models read (a `where` config of
    `<column> >= __data_tests_since_date__`): var `data_tests_since_date`, else the environment's
    NARROWCAST_DATA_TESTS_SINCE_DATE (what a daily DAG run sets: its first rebuilt day), else 1900-01-01, every row.

    dbt renders a `where` config when it parses, and a yml file that reads an environment variable whose value
    changed is parsed again, with every model and test it declares (~3 s a day for these files). So the files hold
    a placeholder, and the date is put in when the test runs, in dbt's `get_where_subquery` (the override dbt's
    `where` reference describes for logic at run time). -#}
{% macro data_tests_since_date() -%}
    {%- set value = var('data_tests_since_date', '')
                    or (env_var('NARROWCAST_DATA_TESTS_SINCE_DATE', '') if execute else '') or '1900-01-01' -%}
    {%- if modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) is none -%}
        {{ exceptions.raise_compiler_error("data_tests_since_date=" ~ value ~ " is not a date in YYYY-MM-DD form") }}
    {%- endif -%}
    {{ return("'" ~ value ~ "'") }}
{%- endmacro %}

{#- dbt's own get_where_subquery, with the placeholder above replaced by the date. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__data_tests_since_date__', data_tests_since_date()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

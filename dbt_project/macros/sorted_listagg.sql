{#- Aggregate: the group's values of `column`, sorted (ascending), each written as `item` (an expression of
    `column`, the column itself by default), joined by `delimiter` (a SQL literal). DuckDB's ordered aggregate
    (listagg ... order by) sorts per group and is slow over millions of rows; collecting a list and sorting it
    gives the same text several times faster. -#}
{% macro sorted_listagg(column, delimiter, item=none) -%}
    {{ return(adapter.dispatch('sorted_listagg', 'narrowcast')(column, delimiter, item or column)) }}
{%- endmacro %}

{% macro default__sorted_listagg(column, delimiter, item) -%}
    {{ dbt.listagg(item, delimiter, 'order by ' ~ column) }}
{%- endmacro %}

{#- list_sort compares like ORDER BY (binary collation); array_to_string skips nulls, as listagg does. -#}
{% macro duckdb__sorted_listagg(column, delimiter, item) -%}
    array_to_string(
        list_transform(list_sort(list({{ column }})), sorted_value -> {{ item | replace(column, 'sorted_value') }}),
        {{ delimiter }}
    )
{%- endmacro %}

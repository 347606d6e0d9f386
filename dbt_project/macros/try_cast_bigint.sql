{#- Text to BIGINT, null when the text is not an integer (dbt.safe_cast is a plain cast on Postgres). -#}
{% macro try_cast_bigint(expression) -%}
    {{ return(adapter.dispatch('try_cast_bigint', 'narrowcast')(expression)) }}
{%- endmacro %}

{% macro default__try_cast_bigint(expression) -%}
    try_cast({{ expression }} as bigint)
{%- endmacro %}

{% macro postgres__try_cast_bigint(expression) -%}
    case when trim({{ expression }}) ~ '^-?[0-9]{1,18}$' then cast(trim({{ expression }}) as bigint) end
{%- endmacro %}

{#- A UTC timestamp as ISO 8601 text with milliseconds and a Z ('2026-10-30T14:05:00.000Z'), the form eBay's
    shippedDate requires and Amazon's shipDate accepts. -#}
{% macro iso8601_utc(column) -%}
    {{ return(adapter.dispatch('iso8601_utc')(column)) }}
{%- endmacro %}

{% macro default__iso8601_utc(column) -%}
    to_char({{ column }}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
{%- endmacro %}

{% macro duckdb__iso8601_utc(column) -%}
    strftime({{ column }}, '%Y-%m-%dT%H:%M:%S.%gZ')
{%- endmacro %}

{#- The value of one query-string parameter of a URL (e.g. ref in https://shop.example/?utm_source=x&ref=REF-1A2B),
    as written (not URL-decoded); null when the URL has no such parameter or it is empty. -#}
{% macro url_query_param(expression, name) -%}
    {{ return(adapter.dispatch('url_query_param', 'narrowcast')(expression, name)) }}
{%- endmacro %}

{% macro default__url_query_param(expression, name) -%}
    nullif(regexp_extract({{ expression }}, '[?&]{{ name }}=([^&#]*)', 1), '')
{%- endmacro %}

{% macro postgres__url_query_param(expression, name) -%}
    nullif(substring({{ expression }} from '[?&]{{ name }}=([^&#]*)'), '')
{%- endmacro %}

{#- 8-byte floating point on every adapter (type_double() is a 4-byte REAL on DuckDB). -#}
{% macro type_double() -%}
    double precision
{%- endmacro %}

{#- Lower-case hex SHA-256 of a text expression (what Meta and Google expect for hashed identifiers). -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'narrowcast')(expression)) }}
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    lower(sha256({{ expression }}))
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro postgres__sha256_hex(expression) -%}
    encode(sha256(convert_to({{ expression }}, 'UTF8')), 'hex')
{%- endmacro %}

{#- The SHA-256 hex of hashed_text (default: value) where consent holds and value is present, else null. -#}
{% macro sha256_hex_with_consent(consent, value, hashed_text=none) -%}
    case when {{ consent }} and {{ value }} is not null then {{ sha256_hex(hashed_text or value) }} end
{%- endmacro %}

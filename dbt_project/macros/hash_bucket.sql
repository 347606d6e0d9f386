{#- A stable integer in [0, buckets) from the MD5 of a text expression: the same value on every adapter, so
    holdouts and samples do not change when the warehouse does. -#}
{% macro hash_bucket(expression, buckets) -%}
    mod({{ hex8_to_bigint('substr(' ~ dbt.hash(expression) ~ ', 1, 8)') }}, {{ buckets }})
{%- endmacro %}

{% macro hex8_to_bigint(hex_expression) -%}
    {{ return(adapter.dispatch('hex8_to_bigint', 'narrowcast')(hex_expression)) }}
{%- endmacro %}

{% macro default__hex8_to_bigint(hex_expression) -%}
    cast(('0x' || {{ hex_expression }}) as bigint)
{%- endmacro %}

{% macro postgres__hex8_to_bigint(hex_expression) -%}
    cast(cast(('x' || {{ hex_expression }}) as bit(32)) as bigint)
{%- endmacro %}

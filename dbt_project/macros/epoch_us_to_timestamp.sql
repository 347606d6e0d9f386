{#- GA4 event_timestamp (microseconds since the Unix epoch) to a naive UTC timestamp. -#}
{% macro epoch_us_to_timestamp(expression) -%}
    {{ return(adapter.dispatch('epoch_us_to_timestamp', 'narrowcast')(expression)) }}
{%- endmacro %}

{% macro default__epoch_us_to_timestamp(expression) -%}
    make_timestamp(cast({{ expression }} as bigint))
{%- endmacro %}

{% macro postgres__epoch_us_to_timestamp(expression) -%}
    (to_timestamp({{ expression }} / 1000000.0) at time zone 'UTC')
{%- endmacro %}

{#- Whole seconds since the Unix epoch of a naive UTC timestamp (GA4's ga_session_id convention). -#}
{% macro timestamp_to_epoch_seconds(expression) -%}
    {{ return(adapter.dispatch('timestamp_to_epoch_seconds', 'narrowcast')(expression)) }}
{%- endmacro %}

{% macro default__timestamp_to_epoch_seconds(expression) -%}
    cast(floor(epoch({{ expression }})) as bigint)
{%- endmacro %}

{% macro postgres__timestamp_to_epoch_seconds(expression) -%}
    cast(floor(extract(epoch from {{ expression }})) as bigint)
{%- endmacro %}

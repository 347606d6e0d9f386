{#- Aggregate: `value` of the group's first row in the order of the `order_by` expressions (a list; ascending,
    nulls last, the ORDER BY default of both adapters), null included when that row's value is null. The order
    must be total (end with a unique key), as in a row_number() window that it replaces with one hash aggregate. -#}
{% macro first_by(value, order_by) -%}
    {{ return(adapter.dispatch('first_by', 'narrowcast')(value, order_by)) }}
{%- endmacro %}

{#- arg_min_null keeps the row with the smallest key even when its value is null (arg_min would skip it); a
    struct key compares field by field, a null field after any value, like ORDER BY. -#}
{% macro default__first_by(value, order_by) -%}
    arg_min_null({{ value }}, row({{ order_by | join(', ') }}))
{%- endmacro %}

{% macro postgres__first_by(value, order_by) -%}
    (array_agg({{ value }} order by {{ order_by | join(', ') }}))[1]
{%- endmacro %}

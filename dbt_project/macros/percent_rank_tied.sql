{#- Percent rank where ties share the lowest rank: (rank - 1) / (n - 1), 0 when only one row.
    Written out from rank() so every adapter computes the same value (no reliance on percent_rank()). -#}
{% macro percent_rank_tied(order_by, partition_by=none) -%}
    {%- set over_partition = ('partition by ' ~ partition_by) if partition_by else '' -%}
    coalesce(
        cast(rank() over ({{ over_partition }} order by {{ order_by }}) - 1 as {{ type_double() }})
        / nullif(count(*) over ({{ over_partition }}) - 1, 0),
        0
    )
{%- endmacro %}

{#- Score 1..5 from a percent rank: >= 0.8 -> 5, >= 0.6 -> 4, >= 0.4 -> 3, >= 0.2 -> 2, else 1. -#}
{% macro quintile_score(percent_rank_expression) -%}
    case
        when {{ percent_rank_expression }} >= 0.8 then 5
        when {{ percent_rank_expression }} >= 0.6 then 4
        when {{ percent_rank_expression }} >= 0.4 then 3
        when {{ percent_rank_expression }} >= 0.2 then 2
        else 1
    end
{%- endmacro %}

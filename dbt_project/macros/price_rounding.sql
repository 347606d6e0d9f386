{#- Charm pricing: the smallest price >= the raw price whose cents equal `ending` (e.g. 0.99):
    12.00 -> 12.99, 12.99 -> 12.99, 13.20 -> 13.99. A null ending keeps the price (rounded to the cent). -#}
{% macro round_to_price_ending(price_expression, ending_expression) -%}
    cast(
        case
            when {{ ending_expression }} is null then round({{ price_expression }}, 2)
            else ceiling({{ price_expression }} - {{ ending_expression }}) + {{ ending_expression }}
        end as decimal(18, 2)
    )
{%- endmacro %}

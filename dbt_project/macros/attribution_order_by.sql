{#- Attribution models: the order in which candidate sessions compete for an order (first row wins).
    Swap the model with `--vars '{attribution_model: last_click}'`; add one by adding a branch here.
    Candidate sessions are the buyer's sessions that started within var attribution_lookback_days before the
    order; columns available: is_direct (0/1), started_at, is_converting_session (0/1).
    - last_non_direct_click (default, GA4/Universal Analytics convention): the latest session that is not
      direct; direct only when nothing else exists.
    - last_click: the latest session, direct or not.
    - first_click: the earliest session in the window. -#}
{% macro attribution_order_by(model_name=none) -%}
    {%- set name = model_name or var('attribution_model', 'last_non_direct_click') -%}
    {%- if name == 'last_non_direct_click' -%}
        is_direct asc, started_at desc, session_key asc
    {%- elif name == 'last_click' -%}
        started_at desc, session_key asc
    {%- elif name == 'first_click' -%}
        started_at asc, session_key asc
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "var attribution_model=" ~ name ~ " is unknown: use last_non_direct_click, last_click or first_click"
        ) }}
    {%- endif -%}
{%- endmacro %}

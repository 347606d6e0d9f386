{#- The start of this dbt invocation as a literal timestamp (UTC): the built_at column of the incremental order
    models, so a model downstream finds the rows an upstream one wrote since its own newest stamp (every node of
    one invocation stamps the same time, and a later invocation a later one). -#}
{% macro build_stamp() -%}
    {{ return(timestamp_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f'))) }}
{%- endmacro %}

{#- Post-hook of an incremental model holding one row per order of `orders` (int_orders) that passes `kept` (a
    condition on its columns, e.g. is_valid), stamped with built_at: delete+insert replaced the orders the run
    re-derived, and this deletes the ones no longer kept. First the orders `orders` wrote since the model's
    previous stamp that fail `kept` (an order refunded in full); then, when the model still holds more orders
    than `orders` keeps, the ones that vanished from it (an order file's new version without them), which no
    scope of changed rows can name: only then the anti-join over every order runs. -#}
{% macro delete_orders_not_kept(orders, kept) -%}
    {%- if execute and is_incremental() -%}
        {%- set previous = run_query(
            'select max(built_at) from ' ~ this ~ ' where built_at < ' ~ build_stamp()).columns[0].values()[0] -%}
        {%- if previous is not none -%}
            {%- do run_query(
                'delete from ' ~ this ~ ' where order_key in (select order_key from ' ~ orders
                ~ ' where built_at > ' ~ timestamp_literal(previous) ~ ' and not (' ~ kept ~ '))') -%}
        {%- endif -%}
        {%- set counts = run_query(
            'select (select count(*) from ' ~ this ~ '), (select count(*) from ' ~ orders ~ ' where ' ~ kept ~ ')'
        ).rows[0] -%}
        {%- if counts[0] > counts[1] -%}
            {{ return('delete from ' ~ this ~ ' where not exists (select 1 from ' ~ orders ~ ' as kept_orders'
                ~ ' where kept_orders.order_key = ' ~ this ~ '.order_key and ' ~ kept ~ ')') }}
        {%- endif -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{#- What int_identity_map was last built against, kept beside it (table <model>__state, written by its post-hook):
    one row per customer key of int_customers at that build, each with the newest load time of the shop orders
    it read. A daily run compares the customer keys now with these (a key added or removed is a merge or a
    split) and re-derives the purchases of the orders loaded since; without the table it rebuilds whole. -#}
{% macro identity_map_state() -%}
    {{ return(this.incorporate(path={'identifier': this.identifier ~ '__state'})) }}
{%- endmacro %}

{#- The newest shop-order load time int_identity_map was built against; none (rebuild whole) on a full build, or
    without a state table or a row in it. -#}
{% macro identity_map_orders_loaded_through() -%}
    {%- if is_incremental() and execute -%}
        {%- set state = adapter.get_relation(
            database=this.database, schema=this.schema, identifier=identity_map_state().identifier) -%}
        {%- if state is not none -%}
            {{ return(run_query('select max(orders_loaded_through) from ' ~ state).columns[0].values()[0]) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The statement of int_identity_map's last post-hook (after the null rows are deleted and the old state dropped):
    the state table of this build. -#}
{% macro save_identity_map_state() -%}
    create table {{ identity_map_state() }} as
    select
        customers.customer_id,
        loaded.orders_loaded_through
    from {{ ref('int_customers') }} as customers
    cross join (select max(loaded_at) as orders_loaded_through from {{ ref('stg_shop__orders') }}) as loaded
{%- endmacro %}

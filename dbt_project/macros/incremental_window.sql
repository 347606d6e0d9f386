{#- The newest value of `column` in the table this incremental model already built, read before the model's SQL
    runs; none on a full build, when the table is empty or when it has no such column yet (built before the model
    had it): the model then rebuilds whole. Cutoffs derived from it are literal dates in the SQL, which reach the
    scans below them: a scalar subquery on {{ this }} would not, and every day ever loaded would be read. -#}
{% macro newest_built_value(column) -%}
    {%- if is_incremental() and execute -%}
        {%- set built = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- if column | lower in built -%}
            {{ return(run_query('select max(' ~ column ~ ') from ' ~ this).columns[0].values()[0]) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The literal date `days` days before `day` (a date value, e.g. from newest_built_value), in the adapter's SQL. -#}
{% macro days_before(day, days) -%}
    {{ return(dbt.dateadd('day', -(days | int), "cast('" ~ day ~ "' as date)")) }}
{%- endmacro %}

{#- The literal timestamp `value` (e.g. a load time from newest_built_value), in the adapter's SQL. -#}
{% macro timestamp_literal(value) -%}
    {{ return("cast('" ~ value ~ "' as timestamp)") }}
{%- endmacro %}

{#- True when the privacy purge recorded an erasure after `value` (a timestamp from newest_built_value). The purge
    blanks personal columns in place and leaves _loaded_at as it was, so a model keyed on load times cannot see
    which rows it blanked: the models that carry personal data re-derive every row after an erasure. -#}
{% macro erased_since(value) -%}
    {%- if not execute or value is none -%}
        {{ return(false) }}
    {%- endif -%}
    {#- the purge's table (narrowcast.privacy.subjects.TABLE), absent until someone is erased -#}
    {%- set schema, identifier = 'meta.erased_subjects'.split('.') -%}
    {%- set erased = adapter.get_relation(database=target.database, schema=schema, identifier=identifier) -%}
    {%- if erased is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query('select count(*) from ' ~ erased ~ ' where erased_at > ' ~ timestamp_literal(value)) -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}

{#- In an incremental run that re-derives some orders (`active`), a where clause keeping the orders of
    `orders_model` whose id (`order_id`, an expression of the scanned table) the model's CTE orders_in_scope
    lists; nothing otherwise. -#}
{% macro orders_in_scope_filter(active, orders_model, order_id) -%}
    {%- if active %}
        where {{ order_id }} in (
            select order_id from orders_in_scope where orders_model = '{{ orders_model }}'
        )
    {%- endif %}
{%- endmacro %}

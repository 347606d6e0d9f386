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

{#- The days this incremental model (unique_key event_date, with a loaded_at column) must rebuild, as 'YYYY-MM-DD'
    strings; none when it must rebuild whole (a full build, an empty table, one built before it kept loaded_at).
    Of the days from var incremental_lookback_days days before the newest event_date built: those where `upstream`
    (a relation with an event_date column; `upstream_filter` keeps the rows the model keeps) holds rows loaded at
    another time (`upstream_loaded_at`, the newest of the day) than the rows this model built for the day or, with
    `compare_counts`, another number of rows; and the days the model has not built at all. A state comparison, not
    a load-time cutoff: a load committed in any order, a day re-delivered with the same rows or fewer, or rows
    blanked and reloaded, are all seen. Days the model holds and upstream no longer has are left as they are (as
    the lookback always left them). -#}
{% macro days_to_rebuild(upstream, upstream_loaded_at, upstream_filter='1 = 1', compare_counts=true) -%}
    {%- set newest_event_date = newest_built_value('event_date') -%}
    {%- if newest_event_date is none or newest_built_value('loaded_at') is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set since = days_before(newest_event_date, var('incremental_lookback_days') | int) -%}
    {%- set sql -%}
        with upstream_days as (
            select event_date, count(*) as row_count, max({{ upstream_loaded_at }}) as newest_loaded_at
            from {{ upstream }}
            where event_date >= {{ since }} and ({{ upstream_filter }})
            group by event_date
        ),

        built_days as (
            select event_date, count(*) as row_count, max(loaded_at) as newest_loaded_at
            from {{ this }}
            where event_date >= {{ since }}
            group by event_date
        )

        select cast(upstream_days.event_date as {{ dbt.type_string() }}) as event_date
        from upstream_days
        left join built_days on upstream_days.event_date = built_days.event_date
        where built_days.event_date is null
            or upstream_days.newest_loaded_at is distinct from built_days.newest_loaded_at
            {%- if compare_counts %}
            or upstream_days.row_count <> built_days.row_count
            {%- endif %}
        order by 1
    {%- endset -%}
    {{ return(queried_days(sql)) }}
{%- endmacro %}

{#- The days of `relation` (a model with event_date and built_at, macro build_stamp) that a run after `built_since`
    wrote: what a model downstream of it must redo, as 'YYYY-MM-DD' strings. -#}
{% macro days_built_since(relation, built_since) -%}
    {%- set sql -%}
        select distinct cast(event_date as {{ dbt.type_string() }}) as event_date
        from {{ relation }}
        where built_at > {{ timestamp_literal(built_since) }}
        order by 1
    {%- endset -%}
    {{ return(queried_days(sql)) }}
{%- endmacro %}

{#- The first column of `sql`'s rows as 'YYYY-MM-DD' strings (agate may read text back as a date or a datetime:
    the first ten characters either way). -#}
{% macro queried_days(sql) -%}
    {%- set days = [] -%}
    {%- for day in run_query(sql).columns[0].values() -%}
        {%- do days.append((day | string)[:10]) -%}
    {%- endfor -%}
    {{ return(days) }}
{%- endmacro %}

{#- A where-clause condition keeping the rows of `days` (from days_to_rebuild) by `column`: a range the scans
    below a view can use, then the days themselves; false when there is none. -#}
{% macro on_days(column, days) -%}
    {%- if days | length == 0 -%}
        1 = 0
    {%- else -%}
        {{ column }} between cast('{{ days[0] }}' as date) and cast('{{ days[-1] }}' as date)
        and {{ column }} in ({% for day in days %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor %})
    {%- endif -%}
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

{#- The built-in `unique` test on DuckDB, in two steps so that tens of millions of keys are sorted, not
    grouped: a hash table with one entry per key is what makes dbt's own test slow on a big table.
    1. Each key's 64-bit hash, sorted; a hash equal to the one before it is repeated.
    2. Only the keys with a repeated hash are grouped by their value. Two different keys sharing a hash
       only reach this step, which compares the values themselves, so the result is exactly the built-in
       test's: one row per duplicated value, with its count. With no repeated hash it reads nothing more.
    Other adapters run dbt's own test (dispatch order in dbt_project.yml). -#}
{% macro duckdb__test_unique(model, column_name) %}

select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
    and hash({{ column_name }}) in (
        select key_hash
        from (
            select
                key_hash,
                lag(key_hash) over (order by key_hash) as previous_hash
            from (
                select hash({{ column_name }}) as key_hash
                from {{ model }}
                where {{ column_name }} is not null
            ) as key_hashes
        ) as sorted_hashes
        where key_hash = previous_hash
    )
group by {{ column_name }}
having count(*) > 1

{% endmacro %}

{#- Incremental: each run replaces the whole days, from var incremental_lookback_days days before the newest
    event_date already built onwards, whose raw events differ from what was built from them: another newest
    load time or another number of events (macro days_to_rebuild; unique_key event_date, strategy
    delete+insert). A day GA4 re-delivers (its late events) is replaced, the days that did not change are not
    read at all: a daily run reads the new day, not the whole lookback. Each row keeps the run that wrote it
    (built_at), so int_sessions can redo only what changed. An empty existing table, or one built before it kept
    loaded_at, is rebuilt whole. -#}
{{ config(unique_key='event_date') }}

{#- Literal days reach the event and param scans of the staging view (see macro newest_built_value). -#}
{%- set rebuilt_days = days_to_rebuild(
    source('ga4', 'ga4_events'), 'cast(_loaded_at as timestamp)', upstream_filter='user_pseudo_id is not null'
) %}

with

events as (
    select * from {{ ref('stg_ga4__events') }}
    -- Consent-mode "cookieless pings" (analytics storage denied) carry no user_pseudo_id: they stay in raw for
    -- event counts but cannot be sessionised or stitched to a customer.
    where user_pseudo_id is not null
    {% if rebuilt_days is not none %}
        and {{ on_days('event_date', rebuilt_days) }}
    {% endif %}
)

select
    *,
    -- when this run wrote the day: the days a model downstream must redo (macro days_built_since)
    {{ build_stamp() }} as built_at
from events

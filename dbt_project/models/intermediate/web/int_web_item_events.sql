{#- One row per item of a GA4 event that carries items (view_item, add_to_cart, add_to_wishlist, begin_checkout,
    purchase, ...): the product-level behaviour that recommendations and journeys read. Incremental like
    int_web_events (unique_key event_date): from var incremental_lookback_days days before the newest event_date
    built, the days whose events in int_web_events were loaded at another time than the events these items were
    built with (macro days_to_rebuild; a GA4 file loads a day's events, params and items together), so a late
    GA4 file rebuilds its days and nothing else. An empty existing table, or one built before it kept loaded_at,
    is rebuilt whole. -#}
{{ config(unique_key='event_date') }}

{%- set rebuilt_days = days_to_rebuild(ref('int_web_events'), 'loaded_at', compare_counts=false) %}

with

items as (
    select * from {{ ref('stg_ga4__event_items') }}
    where sku is not null
    {% if rebuilt_days is not none %}
        and {{ on_days('event_date', rebuilt_days) }}
    {% endif %}
),

events as (
    select * from {{ ref('int_web_events') }}
    {% if rebuilt_days is not none %}
        where {{ on_days('event_date', rebuilt_days) }}
    {% endif %}
),

final as (
    select
        items.event_key,
        items.item_index,
        events.event_date,
        events.event_at,
        events.event_name,
        events.user_pseudo_id,
        items.sku,
        items.price as item_price,
        events.page_location,
        events.loaded_at
    from items
    -- Joined on the day too: both sides are partitioned by it, and a consent-mode ping without
    -- user_pseudo_id (absent from int_web_events) drops out here as it does there.
    inner join events
        on items.event_key = events.event_key
        and items.event_date = events.event_date
)

select * from final

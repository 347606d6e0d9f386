{#- One row per item of a GA4 event that carries items (view_item, add_to_cart, add_to_wishlist, begin_checkout,
    purchase, ...): the product-level behaviour that recommendations and journeys read. Incremental like
    int_web_events (whole days from var incremental_lookback_days days before the newest event_date built,
    unique_key event_date), so a late GA4 file rebuilds its days and nothing else. -#}
{{ config(unique_key='event_date') }}

{%- set lookback_days = var('incremental_lookback_days') | int %}
{%- set newest_event_date = newest_built_value('event_date') %}

with

items as (
    select * from {{ ref('stg_ga4__event_items') }}
    where sku is not null
    {% if newest_event_date is not none %}
        and event_date >= {{ days_before(newest_event_date, lookback_days) }}
    {% endif %}
),

events as (
    select * from {{ ref('int_web_events') }}
    {% if newest_event_date is not none %}
        where event_date >= {{ days_before(newest_event_date, lookback_days) }}
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
        events.page_location
    from items
    -- Joined on the day too: both sides are partitioned by it, and a consent-mode ping without
    -- user_pseudo_id (absent from int_web_events) drops out here as it does there.
    inner join events
        on items.event_key = events.event_key
        and items.event_date = events.event_date
)

select * from final

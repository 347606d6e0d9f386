with

events as (
    select * from {{ source('ga4', 'ga4_events') }}
),

-- Only the keys pivoted below: GA4 sends a dozen or more params per event (session_engaged, debug_mode,
-- ignore_referrer, ...), and the others would each be a row through the group by for nothing.
params as (
    select * from {{ source('ga4', 'ga4_event_params') }}
    where
        key in (
            'ga_session_id', 'ga_session_number', 'page_location', 'page_referrer', 'page_title', 'search_term',
            'engagement_time_msec', 'source', 'medium', 'campaign'
        )
),

-- event_params arrive as key + typed value; GA4 sometimes sends ids as strings, so both columns are read.
-- Grouped and joined on event_date too (a param row carries its event's date): a date filter on this view
-- (the incremental sessions' lookback) then reaches the params scan instead of pivoting every day ever loaded.
pivoted_params as (
    select
        event_key,
        event_date,
        max(case when key = 'ga_session_id' then coalesce(int_value, {{ try_cast_bigint('string_value') }}) end)
            as ga_session_id,
        max(case when key = 'ga_session_number' then coalesce(int_value, {{ try_cast_bigint('string_value') }}) end)
            as ga_session_number,
        max(case when key = 'page_location' then string_value end) as page_location,
        max(case when key = 'page_referrer' then string_value end) as page_referrer,
        max(case when key = 'page_title' then string_value end) as page_title,
        max(case when key = 'search_term' then string_value end) as search_term,
        max(case when key = 'engagement_time_msec' then int_value end) as engagement_time_msec,
        max(case when key = 'source' then string_value end) as param_source,
        max(case when key = 'medium' then string_value end) as param_medium,
        max(case when key = 'campaign' then string_value end) as param_campaign
    from params
    group by event_key, event_date
),

renamed as (
    select
        events.event_key,
        cast(events.event_date as date) as event_date,
        {{ epoch_us_to_timestamp('events.event_timestamp') }} as event_at,
        events.event_name,
        events.user_pseudo_id,
        nullif(trim(events.user_id), '') as user_id,
        pivoted_params.ga_session_id,
        pivoted_params.ga_session_number,
        pivoted_params.page_location,
        pivoted_params.page_referrer,
        pivoted_params.page_title,
        pivoted_params.search_term,
        pivoted_params.engagement_time_msec,
        lower(coalesce(events.collected_source, pivoted_params.param_source)) as traffic_source,
        lower(coalesce(events.collected_medium, pivoted_params.param_medium)) as traffic_medium,
        coalesce(events.collected_campaign_name, pivoted_params.param_campaign) as traffic_campaign,
        events.collected_gclid as gclid,
        lower(events.first_user_source) as first_user_source,
        lower(events.first_user_medium) as first_user_medium,
        events.geo_country,
        events.geo_region,
        events.geo_city,
        lower(events.device_category) as device_category,
        nullif(trim(events.ecommerce_transaction_id), '') as transaction_id,
        cast(events.ecommerce_purchase_revenue as decimal(18, 2)) as purchase_revenue,
        cast(events._loaded_at as timestamp) as loaded_at
    from events
    left join pivoted_params
        on events.event_key = pivoted_params.event_key
        and events.event_date = pivoted_params.event_date
)

select * from renamed

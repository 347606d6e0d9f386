{#- Incremental (unique_key session_key, delete+insert): each run redoes what int_web_events wrote since this
    model's newest built_at (macro days_built_since: the event days it replaced). Every GA4 session with an event
    on such a day is recomputed whole from its events from two days before the first of them on (so a session
    that crossed midnight into a replaced day is whole again), and so is every session of the inactivity rule
    started from the day before the first replaced day on (its split depends on the events around it); a session
    started earlier is never rebuilt. Sessions of days int_web_events did not touch are neither read nor
    rewritten: a daily run reads the new day's sessions and the previous day's that crossed into it. Late events
    within int_web_events' lookback give the same rows as a full refresh. A table built before it kept built_at
    redoes the sessions of the last var incremental_lookback_days days once; an empty existing table is rebuilt
    whole. -#}
{{ config(unique_key='session_key') }}

{%- set timeout_seconds = var('session_timeout_minutes') | int * 60 %}
{%- set lookback_days = var('incremental_lookback_days') | int %}
{#- The cutoffs below are literal dates (see macro newest_built_value). #}
{%- set newest_session_date = newest_built_value('session_date') %}
{%- set built_since = newest_built_value('built_at') if newest_session_date is not none else none %}
{%- set replaced_days = days_built_since(ref('int_web_events'), built_since) if built_since is not none else none %}
{%- set events_from, first_day = none, none %}
{%- if replaced_days %}
    {%- set events_from = days_before(replaced_days[0], 2) %}
    {%- set first_day = days_before(replaced_days[0], 1) %}
{%- elif replaced_days is none and newest_session_date is not none %}
    {%- set events_from = days_before(newest_session_date, lookback_days + 1) %}
    {%- set first_day = days_before(newest_session_date, lookback_days) %}
{%- endif %}

with

{% if replaced_days %}
-- The GA4 sessions with an event on a replaced day.
touched_sessions as (
    select distinct
        user_pseudo_id,
        ga_session_id
    from {{ ref('int_web_events') }}
    where {{ on_days('event_date', replaced_days) }}
        and ga_session_id is not null
),

{% endif %}
events as (
    select web_events.* from {{ ref('int_web_events') }} as web_events
    {% if replaced_days is not none and not replaced_days %}
        where 1 = 0
    {% elif events_from is not none %}
        where event_date >= {{ events_from }}
        {% if replaced_days %}
            and (
                ga_session_id is null
                or exists (
                    select 1 from touched_sessions
                    where
                        touched_sessions.user_pseudo_id = web_events.user_pseudo_id
                        and touched_sessions.ga_session_id = web_events.ga_session_id
                )
            )
        {% endif %}
    {% endif %}
),

channel_mapping as (
    select * from {{ ref('channel_mapping') }}
),

channels as (
    select * from {{ ref('channels') }}
),

-- GA4 sends ga_session_id on every event; when it is missing, fall back to a 30-minute inactivity rule. Only
-- those events go through the windows below.
gaps as (
    select
        event_key,
        user_pseudo_id,
        event_at,
        case
            when lag(event_at) over (partition by user_pseudo_id order by event_at, event_key) is null then 1
            when {{ dbt.datediff(
                'lag(event_at) over (partition by user_pseudo_id order by event_at, event_key)',
                'event_at',
                'second'
            ) }} > {{ timeout_seconds }} then 1
            else 0
        end as starts_session
    from events
    where ga_session_id is null
),

fallback_sequence as (
    select
        event_key,
        user_pseudo_id,
        event_at,
        sum(starts_session) over (
            partition by user_pseudo_id
            order by event_at, event_key
            rows between unbounded preceding and current row
        ) as session_sequence
    from gaps
),

fallback_sessions as (
    select
        event_key,
        -- Same convention as GA4: the session id is the session start in epoch seconds.
        {{ timestamp_to_epoch_seconds(
            'min(event_at) over (partition by user_pseudo_id, session_sequence)'
        ) }} as fallback_session_id
    from fallback_sequence
),

-- The events with a ga_session_id keep it; the others take their fallback id (a join over those events only).
sessioned_events as (
    select
        events.*,
        events.ga_session_id as session_id,
        0 as is_fallback_session
    from events
    where events.ga_session_id is not null
    union all
    select
        events.*,
        fallback_sessions.fallback_session_id as session_id,
        1 as is_fallback_session
    from events
    inner join fallback_sessions on events.event_key = fallback_sessions.event_key
    where events.ga_session_id is null
),

sessionised as (
    select
        *,
        user_pseudo_id || '-' || cast(session_id as {{ dbt.type_string() }}) as session_key,
        case when traffic_source is null and gclid is null then 1 else 0 end as lacks_traffic,
        case when page_location is null then 1 else 0 end as lacks_page
    from sessioned_events
),

-- Landing page, traffic source and device are those of the session's first event (by time, then event_key)
-- that has them: first_by picks that row in the aggregate itself, without a window per ordering.
aggregated as (
    select
        session_key,
        max(user_pseudo_id) as user_pseudo_id,
        max(session_id) as session_id,
        max(ga_session_number) as ga_session_number,
        max(user_id) as user_id,
        max(is_fallback_session) as is_fallback_session,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as events,
        sum(case when event_name = 'page_view' then 1 else 0 end) as page_views,
        sum(case when event_name = 'view_item' then 1 else 0 end) as product_views,
        sum(case when event_name = 'add_to_cart' then 1 else 0 end) as add_to_carts,
        sum(case when event_name = 'begin_checkout' then 1 else 0 end) as begin_checkouts,
        sum(case when event_name = 'purchase' then 1 else 0 end) as purchases,
        {{ first_by('page_location', ['lacks_page', 'event_at', 'event_key']) }} as landing_page,
        {{ first_by('page_referrer', ['lacks_page', 'event_at', 'event_key']) }} as landing_referrer,
        -- A gclid without utm tags is a Google Ads click (auto-tagging).
        {{ first_by(
            "coalesce(traffic_source, case when gclid is not null then 'google' end)",
            ['lacks_traffic', 'event_at', 'event_key']
        ) }} as traffic_source,
        {{ first_by(
            "coalesce(traffic_medium, case when gclid is not null then 'cpc' end)",
            ['lacks_traffic', 'event_at', 'event_key']
        ) }} as traffic_medium,
        {{ first_by('traffic_campaign', ['lacks_traffic', 'event_at', 'event_key']) }} as traffic_campaign,
        {{ first_by('device_category', ['event_at', 'event_key']) }} as device_category,
        {{ first_by('geo_country', ['event_at', 'event_key']) }} as geo_country,
        {{ first_by('geo_region', ['event_at', 'event_key']) }} as geo_region,
        {{ first_by('geo_city', ['event_at', 'event_key']) }} as geo_city
    from sessionised
    group by session_key
),

channel_candidates as (
    select
        aggregated.session_key,
        channel_mapping.channel,
        row_number() over (partition by aggregated.session_key order by channel_mapping.priority) as match_order
    from aggregated
    inner join channel_mapping
        on coalesce(aggregated.traffic_source, '(direct)') like channel_mapping.source_pattern
        and coalesce(aggregated.traffic_medium, '(none)') like channel_mapping.medium_pattern
),

final as (
    select
        aggregated.session_key,
        aggregated.user_pseudo_id,
        aggregated.session_id,
        aggregated.ga_session_number,
        aggregated.user_id,
        aggregated.is_fallback_session = 1 as is_fallback_session,
        aggregated.started_at,
        aggregated.ended_at,
        cast(aggregated.started_at as date) as session_date,
        aggregated.events,
        aggregated.page_views,
        aggregated.product_views,
        aggregated.add_to_carts,
        aggregated.begin_checkouts,
        aggregated.purchases,
        aggregated.landing_page,
        aggregated.landing_referrer,
        coalesce(aggregated.traffic_source, '(direct)') as traffic_source,
        coalesce(aggregated.traffic_medium, '(none)') as traffic_medium,
        aggregated.traffic_campaign,
        coalesce(channel_candidates.channel, direct_channel.channel) as channel,
        aggregated.device_category,
        aggregated.geo_country,
        aggregated.geo_region,
        aggregated.geo_city,
        {{ build_stamp() }} as built_at
    from aggregated
    left join channel_candidates
        on aggregated.session_key = channel_candidates.session_key
        and channel_candidates.match_order = 1
    -- One row: the test channels_declare_one_direct_channel keeps it so.
    left join channels as direct_channel on direct_channel.is_direct
    {% if first_day is not none %}
        where cast(aggregated.started_at as date) >= {{ first_day }}
    {% endif %}
)

select * from final

{#- One row per customer with at least one stitched GA4 session (int_identity_map) in the last 90 days up to
    as_of_date: how often they visit and how engaged they are. Windows are "the last N days": the N calendar
    days ending on as_of_date. An engaged session follows GA4's definition: it lasted at least 10 seconds, or
    had two or more page views, or a purchase. Engagement time is the sum of GA4's engagement_time_msec over
    the customer's events; seconds per engaged session divide it by the engaged sessions (null without any). -#}
with

sessions as (
    select * from {{ ref('int_sessions') }}
    where cast(started_at as date) > {{ dbt.dateadd('day', -90, as_of_date()) }}
        and cast(started_at as date) <= {{ as_of_date() }}
),

events as (
    select * from {{ ref('int_web_events') }}
    where event_date > {{ dbt.dateadd('day', -90, as_of_date()) }}
        and event_date <= {{ as_of_date() }}
),

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

customer_sessions as (
    select
        identity_map.customer_id,
        sessions.started_at,
        (
            {{ dbt.datediff('sessions.started_at', 'sessions.ended_at', 'second') }} >= 10  -- noqa: LT05
            or sessions.page_views >= 2
            or sessions.purchases > 0
        ) as is_engaged
    from sessions
    inner join identity_map on sessions.user_pseudo_id = identity_map.user_pseudo_id
),

visits as (
    select
        customer_id,
        sum(
            case when cast(started_at as date) > {{ dbt.dateadd('day', -30, as_of_date()) }} then 1 else 0 end
        ) as sessions_30d,
        count(*) as sessions_90d,
        sum(case when is_engaged then 1 else 0 end) as engaged_sessions_90d,
        max(started_at) as last_session_at
    from customer_sessions
    group by customer_id
),

engagement as (
    select
        identity_map.customer_id,
        sum(coalesce(events.engagement_time_msec, 0)) as engagement_time_msec_90d
    from events
    inner join identity_map on events.user_pseudo_id = identity_map.user_pseudo_id
    group by identity_map.customer_id
),

final as (
    select
        cast(visits.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(visits.sessions_30d as integer) as sessions_30d,
        cast(visits.sessions_90d as integer) as sessions_90d,
        cast(visits.engaged_sessions_90d as integer) as engaged_sessions_90d,
        cast(coalesce(engagement.engagement_time_msec_90d, 0) as bigint) as engagement_time_msec_90d,
        cast(
            coalesce(engagement.engagement_time_msec_90d, 0) / 1000.0 / nullif(visits.engaged_sessions_90d, 0)
            as {{ type_double() }}
        ) as engaged_seconds_per_engaged_session,
        cast(visits.last_session_at as timestamp) as last_session_at
    from visits
    left join engagement on visits.customer_id = engagement.customer_id
)

select * from final

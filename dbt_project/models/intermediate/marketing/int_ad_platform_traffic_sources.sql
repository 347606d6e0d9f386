{#- One row per (channel, traffic_source) of GA4 sessions that an ad platform claims: the platform (seed
    ad_platforms) whose channel is the session's channel and one of whose source patterns (seed
    ad_platform_sources, LIKE on the lower-case source) the traffic source matches, first by priority.
    Sessions and orders join it to reach the platform's spend; traffic no platform claims belongs to the own
    site (var own_site_platform). -#}
with

sessions as (
    select * from {{ ref('int_sessions') }}
),

ad_platforms as (
    select * from {{ ref('ad_platforms') }}
),

ad_platform_sources as (
    select * from {{ ref('ad_platform_sources') }}
),

traffic as (
    select distinct
        channel,
        traffic_source
    from sessions
),

matches as (
    select
        traffic.channel,
        traffic.traffic_source,
        ad_platforms.platform,
        row_number() over (
            partition by traffic.channel, traffic.traffic_source
            order by ad_platform_sources.priority
        ) as match_order
    from traffic
    inner join ad_platforms on traffic.channel = ad_platforms.channel
    inner join ad_platform_sources
        on ad_platforms.platform = ad_platform_sources.platform
        and traffic.traffic_source like ad_platform_sources.source_pattern
),

final as (
    select
        channel,
        traffic_source,
        platform
    from matches
    where match_order = 1
)

select * from final

{#- Fails on kpi_channel_daily platforms that are neither an ad platform (seed ad_platforms), a third-party
    marketplace (seed marketplaces, not is_own_shop) nor the own site (var own_site_platform). -#}
with

daily as (
    select * from {{ ref('kpi_channel_daily') }}
),

ad_platforms as (
    select * from {{ ref('ad_platforms') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

declared_platforms as (
    select platform
    from ad_platforms
    union all
    select marketplace as platform
    from marketplaces
    where not is_own_shop
),

final as (
    select distinct daily.platform
    from daily
    left join declared_platforms on daily.platform = declared_platforms.platform
    where declared_platforms.platform is null
        and daily.platform <> '{{ var("own_site_platform") }}'
)

select * from final

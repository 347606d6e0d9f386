{#- One row per (date_day, channel, platform, campaign_id, lead_type) with at least one lead (int_leads): GA4
    sign_up and generate_lead events and newsletter sign-ups (shop consent and Klaviyo sign-ups, one per person
    where both record it), on every channel, paid or not; campaign_id and its campaign type where the session's
    utm campaign names an ad platform's campaign. -#}
with

leads as (
    select * from {{ ref('int_leads') }}
),

campaigns as (
    select * from {{ ref('int_campaign_types') }}
),

aggregated as (
    select
        leads.lead_date as date_day,
        leads.channel,
        leads.platform,
        leads.campaign_id,
        max(campaigns.campaign_name) as campaign_name,
        max(campaigns.campaign_type) as campaign_type,
        leads.lead_type,
        count(*) as leads
    from leads
    left join campaigns
        on leads.platform = campaigns.platform
        and leads.campaign_id = campaigns.campaign_id
    group by leads.lead_date, leads.channel, leads.platform, leads.campaign_id, leads.lead_type
),

final as (
    select
        date_day,
        cast(channel as text) as channel,
        cast(platform as text) as platform,
        cast(campaign_id as text) as campaign_id,
        cast(campaign_name as text) as campaign_name,
        cast(campaign_type as text) as campaign_type,
        cast(lead_type as text) as lead_type,
        cast(leads as bigint) as leads,
        cast(
            channel || '|' || platform || '|' || coalesce(campaign_id, '') || '|' || lead_type || '|'
            || cast(date_day as {{ dbt.type_string() }}) as text
        ) as leads_key
    from aggregated
)

select * from final

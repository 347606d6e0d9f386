{#- One row per lead: a GA4 `sign_up` or `generate_lead` event (GA4's recommended event names for an account
    created and a contact left), and a newsletter sign-up: a shop customer whose e-mail marketing consent state is
    'subscribed', at the time Shopify recorded it, or a Klaviyo sign-up (an event of Klaviyo's "Subscribed to Email
    Marketing" / "Subscribed to List" metrics), one per person (normalised e-mail, else Klaviyo profile) at its
    first. One sign-up reaches both when the shop and Klaviyo sync consent: a person's shop and Klaviyo sign-ups
    (same normalised e-mail) count once, as the earlier of the two (the shop's on a tie). A GA4 lead is credited to
    the session it happened in; a newsletter sign-up to the latest session of the customer's browsers
    (int_identity_map; a Klaviyo sign-up's customer is the shop customer with its e-mail) that started at most var
    attribution_lookback_days before it, else the direct channel. The session's ad platform and campaign are found
    the way kpi_channel_daily finds them (int_ad_platform_traffic_sources; utm campaign = the platform's campaign
    name, case-insensitive). GA4 leads and newsletter sign-ups are counted apart: a person may be both. -#}
with

events as (
    select * from {{ ref('int_web_events') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

klaviyo_events as (
    select * from {{ ref('stg_klaviyo__subscription_events') }}
),

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

ad_platform_traffic as (
    select * from {{ ref('int_ad_platform_traffic_sources') }}
),

campaign_types as (
    select * from {{ ref('int_campaign_types') }}
),

channels as (
    select * from {{ ref('channels') }}
),

lead_events as (
    select
        event_key,
        event_name,
        event_at,
        user_pseudo_id,
        ga_session_id
    from events
    where event_name in ('sign_up', 'generate_lead')
),

-- The session holding the event: GA4's own session id when it matches, else the session whose span covers it
-- (events without a ga_session_id were sessionised by inactivity).
event_candidates as (
    select
        lead_events.event_key,
        sessions.session_key,
        sessions.started_at,
        case
            when
                sessions.session_key
                = lead_events.user_pseudo_id || '-' || cast(lead_events.ga_session_id as {{ dbt.type_string() }})
                then 0
            else 1
        end as id_mismatch
    from lead_events
    inner join sessions
        on lead_events.user_pseudo_id = sessions.user_pseudo_id
        and lead_events.event_at >= sessions.started_at
        and lead_events.event_at <= sessions.ended_at
),

event_sessions as (
    select
        event_key,
        session_key,
        row_number() over (
            partition by event_key order by id_mismatch asc, started_at desc, session_key asc
        ) as session_order
    from event_candidates
),

web_leads as (
    select
        'ga4:' || lead_events.event_key as lead_key,
        lead_events.event_name as lead_type,
        lead_events.event_at as lead_at,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        event_sessions.session_key,
        'web_event' as lead_source
    from lead_events
    left join event_sessions
        on lead_events.event_key = event_sessions.event_key
        and event_sessions.session_order = 1
),

shop_signups as (
    select
        customer_id,
        email_marketing_consent_updated_at as subscribed_at,
        {{ normalize_email('email') }} as email_normalized
    from customers
    where email_marketing_consent_state = 'subscribed'
        and email_marketing_consent_updated_at is not null
),

-- A person's first Klaviyo sign-up: one person per normalised e-mail, else per profile (a phone-only profile).
klaviyo_ranked as (
    select
        event_id,
        email_normalized,
        subscribed_at,
        row_number() over (
            partition by coalesce(email_normalized, 'profile:' || profile_id, 'event:' || event_id)
            order by subscribed_at asc, event_id asc
        ) as signup_order
    from klaviyo_events
),

klaviyo_firsts as (
    select
        event_id,
        email_normalized,
        subscribed_at
    from klaviyo_ranked
    where signup_order = 1
),

first_shop_signup_by_email as (
    select
        email_normalized,
        min(subscribed_at) as subscribed_at
    from shop_signups
    where email_normalized is not null
    group by email_normalized
),

-- The shop customer a Klaviyo e-mail belongs to (the lowest id when several customers share it).
customers_by_email as (
    select
        {{ normalize_email('email') }} as email_normalized,
        min(customer_id) as customer_id
    from customers
    where {{ normalize_email('email') }} is not null
    group by {{ normalize_email('email') }}
),

-- Dedupe: a shop sign-up is dropped when the same e-mail signed up in Klaviyo strictly earlier, a Klaviyo
-- sign-up when the shop recorded the same e-mail's consent at or before it.
signups as (
    select
        'newsletter:' || shop_signups.customer_id as lead_key,
        shop_signups.customer_id,
        shop_signups.subscribed_at,
        'shop_consent' as lead_source
    from shop_signups
    left join klaviyo_firsts on shop_signups.email_normalized = klaviyo_firsts.email_normalized
    where klaviyo_firsts.subscribed_at is null or klaviyo_firsts.subscribed_at >= shop_signups.subscribed_at
    union all
    select
        'klaviyo_signup:' || klaviyo_firsts.event_id as lead_key,
        customers_by_email.customer_id,
        klaviyo_firsts.subscribed_at,
        'klaviyo_signup' as lead_source
    from klaviyo_firsts
    left join first_shop_signup_by_email
        on klaviyo_firsts.email_normalized = first_shop_signup_by_email.email_normalized
    left join customers_by_email on klaviyo_firsts.email_normalized = customers_by_email.email_normalized
    where first_shop_signup_by_email.subscribed_at is null
        or first_shop_signup_by_email.subscribed_at > klaviyo_firsts.subscribed_at
),

signup_windows as (
    select
        lead_key,
        customer_id,
        subscribed_at,
        lead_source,
        {{ dbt.dateadd('day', -(var('attribution_lookback_days') | int), 'subscribed_at') }} as window_start
    from signups
),

signup_sessions as (
    select
        signup_windows.lead_key,
        sessions.session_key,
        row_number() over (
            partition by signup_windows.lead_key order by sessions.started_at desc, sessions.session_key desc
        ) as session_order
    from signup_windows
    inner join identity_map on signup_windows.customer_id = identity_map.customer_id
    inner join sessions
        on identity_map.user_pseudo_id = sessions.user_pseudo_id
        and signup_windows.subscribed_at >= sessions.started_at
        and signup_windows.window_start <= sessions.started_at
),

newsletter_leads as (
    select
        signup_windows.lead_key,
        'newsletter_signup' as lead_type,
        signup_windows.subscribed_at as lead_at,
        signup_windows.customer_id,
        signup_sessions.session_key,
        signup_windows.lead_source
    from signup_windows
    left join signup_sessions
        on signup_windows.lead_key = signup_sessions.lead_key
        and signup_sessions.session_order = 1
),

leads as (
    select * from web_leads
    union all
    select * from newsletter_leads
),

-- The ad platform's campaign a session's utm campaign names (latest name per campaign, as kpi_channel_daily).
campaign_names as (
    select
        platform,
        lower(campaign_name) as campaign_name_key,
        min(campaign_id) as campaign_id
    from campaign_types
    group by platform, lower(campaign_name)
),

final as (
    select
        leads.lead_key,
        leads.lead_type,
        leads.lead_at,
        cast(leads.lead_at as date) as lead_date,
        leads.customer_id,
        leads.lead_source,
        leads.session_key,
        coalesce(sessions.channel, direct_channel.channel) as channel,
        coalesce(ad_platform_traffic.platform, '{{ var("own_site_platform") }}') as platform,
        sessions.traffic_campaign,
        campaign_names.campaign_id
    from leads
    left join sessions on leads.session_key = sessions.session_key
    left join ad_platform_traffic
        on sessions.channel = ad_platform_traffic.channel
        and sessions.traffic_source = ad_platform_traffic.traffic_source
    left join campaign_names
        on ad_platform_traffic.platform = campaign_names.platform
        and lower(sessions.traffic_campaign) = campaign_names.campaign_name_key
    -- One row: the test channels_declare_one_direct_channel keeps it so.
    left join channels as direct_channel on direct_channel.is_direct
)

select * from final

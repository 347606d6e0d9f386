{#- One row per session that came through a referrer: a customer's referral link or an affiliate partner.
    Evidence, strongest first (the session keeps one):
    1. referral_link: the landing page carries the query parameter var referral_link_parameter (default ref) with a
       known referral code (int_referral_codes, matched trimmed and case-insensitively); partner_type
       customer_referral, partner_id 'customer:' || the referrer's customer id.
    2. affiliate_utm: the session's channel is an affiliate channel (seed channels, is_affiliate, e.g.
       utm_medium=affiliate through channel_mapping); partner_type affiliate_partner, partner_id = the lower-cased
       utm_source.
    A referral-link session whose visitor is known (int_identity_map) to be the referrer is not a referral
    (self-referral) and is left out. -#}
with

sessions as (
    select * from {{ ref('int_sessions') }}
),

codes as (
    select * from {{ ref('int_referral_codes') }}
),

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

channels as (
    select * from {{ ref('channels') }}
),

session_params as (
    select
        session_key,
        user_pseudo_id,
        session_date,
        started_at,
        channel,
        traffic_source,
        upper(trim({{ url_query_param('landing_page', var('referral_link_parameter')) }})) as landing_code
    from sessions
),

link_sessions as (
    select
        session_params.session_key,
        session_params.user_pseudo_id,
        session_params.session_date,
        session_params.started_at,
        'referral_link' as evidence,
        'customer_referral' as partner_type,
        'customer:' || codes.customer_id as partner_id,
        codes.customer_id as referrer_customer_id,
        codes.referral_code
    from session_params
    inner join codes on session_params.landing_code = codes.referral_code
    left join identity_map on session_params.user_pseudo_id = identity_map.user_pseudo_id
    where identity_map.customer_id is null
        or identity_map.customer_id <> codes.customer_id
),

utm_sessions as (
    select
        session_params.session_key,
        session_params.user_pseudo_id,
        session_params.session_date,
        session_params.started_at,
        'affiliate_utm' as evidence,
        'affiliate_partner' as partner_type,
        lower(session_params.traffic_source) as partner_id,
        cast(null as {{ dbt.type_string() }}) as referrer_customer_id,
        cast(null as {{ dbt.type_string() }}) as referral_code
    from session_params
    inner join channels on session_params.channel = channels.channel
    left join link_sessions on session_params.session_key = link_sessions.session_key
    where channels.is_affiliate
        and link_sessions.session_key is null
),

final as (
    select * from link_sessions
    union all
    select * from utm_sessions
)

select * from final

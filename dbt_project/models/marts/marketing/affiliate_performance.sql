{#- One row per (date_day, partner_type, partner_id) with any referral session or credited order: what each
    affiliate partner (partner_type affiliate_partner, partner_id = its utm_source) and each referring customer
    (partner_type customer_referral, partner_id 'customer:<customer_id>') brought that day.
    sessions = referral sessions that day (int_referral_sessions: a referral-link landing or an affiliate UTM;
    the clicks the partner sent); orders, revenue and commission = the valid orders int_order_referrals credits
    to the partner, by order day (precedence: code at checkout, then referral link, then affiliate UTM; never
    self-referral); new_customers = those that were the buyer's first valid order (the referrals);
    commission per seed affiliate_commission_rules, and cost = commission (what the partner is owed; it is the
    affiliate channel's spend in kpi_channel_daily). Money in the reporting currency; an order without an FX rate
    counts in orders but not in revenue or commission. -#}
with

referral_sessions as (
    select * from {{ ref('int_referral_sessions') }}
),

order_referrals as (
    select * from {{ ref('int_order_referrals') }}
),

sessions_daily as (
    select
        session_date as date_day,
        partner_type,
        partner_id,
        max(referrer_customer_id) as referrer_customer_id,
        count(*) as sessions,
        0 as orders,
        0 as new_customers,
        cast(0 as decimal(18, 2)) as revenue,
        cast(0 as decimal(18, 2)) as commission
    from referral_sessions
    group by session_date, partner_type, partner_id
),

orders_daily as (
    select
        order_date as date_day,
        partner_type,
        partner_id,
        max(referrer_customer_id) as referrer_customer_id,
        0 as sessions,
        count(*) as orders,
        sum(case when is_first_order then 1 else 0 end) as new_customers,
        coalesce(sum(net_revenue_reporting), 0) as revenue,
        coalesce(sum(commission_reporting), 0) as commission
    from order_referrals
    group by order_date, partner_type, partner_id
),

unioned as (
    select * from sessions_daily
    union all
    select * from orders_daily
),

aggregated as (
    select
        date_day,
        partner_type,
        partner_id,
        max(referrer_customer_id) as referrer_customer_id,
        cast(sum(sessions) as bigint) as sessions,
        cast(sum(orders) as bigint) as orders,
        cast(sum(new_customers) as bigint) as new_customers,
        cast(sum(revenue) as decimal(18, 2)) as revenue,
        cast(sum(commission) as decimal(18, 2)) as commission
    from unioned
    group by date_day, partner_type, partner_id
),

final as (
    select
        cast(partner_type || '|' || partner_id || '|' || cast(date_day as {{ dbt.type_string() }}) as text)
            as affiliate_day_key,
        date_day,
        cast(partner_type as text) as partner_type,
        cast(partner_id as text) as partner_id,
        cast(referrer_customer_id as text) as referrer_customer_id,
        sessions,
        orders,
        new_customers,
        revenue,
        commission,
        commission as cost,
        cast({{ reporting_currency() }} as text) as currency,
        cast(orders as {{ type_double() }}) / nullif(sessions, 0) as conversion_rate,
        cast(revenue / nullif(commission, 0) as {{ type_double() }}) as roas
    from aggregated
)

select * from final

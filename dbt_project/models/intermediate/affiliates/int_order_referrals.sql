{#- One row per valid order that a referrer (a customer's referral code or link) or an affiliate partner is
    credited with: each order has at most one. Candidates, and the precedence that picks one:
    1. discount_code: a referral code (int_referral_codes) among the order's discount codes (matched trimmed and
       case-insensitively, as Shopify matches codes): the buyer typed it at checkout.
    2. referral_link: a referral-link session (int_referral_sessions) of the order: the session the attribution
       credits, or any session of the buyer (int_identity_map) that started within var attribution_lookback_days
       before the order; the latest such session wins.
    3. affiliate_utm: the session int_order_attribution credits with the order is an affiliate session, so the
       affiliate channel's orders in kpi_channel_daily and the partners' orders here are the same.
    Only own-shop orders (seed marketplaces, is_own_shop) are credited: a marketplace's buyers bought through the
    marketplace, not through a referral. Self-referral is excluded: a code or link of the buyer's own customer key never counts, and the next
    candidate may apply. Ties within one kind: the latest session, then the lower code.
    Commission (seed affiliate_commission_rules): the rule naming the partner_id wins over its partner_type's
    rule (empty partner_id); commission = rate_pct % of the order's net revenue in the reporting currency plus
    fixed_per_order, at most cap_per_order (empty = no cap), and 0 when the rule is first_order_only and the order
    is not the buyer's first valid order. An order whose revenue has no FX rate gets a null commission (left out
    of sums, as its revenue is); an order without a matching rule earns none (0). -#}
with

attribution as (
    select * from {{ ref('int_order_attribution') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

codes as (
    select * from {{ ref('int_referral_codes') }}
),

referral_sessions as (
    select * from {{ ref('int_referral_sessions') }}
),

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

rules as (
    select * from {{ ref('affiliate_commission_rules') }}
),

-- Shopify combines at most five product or order codes and one shipping code per checkout (Shopify Help Center,
-- "Combining discounts"); eight positions leave room, as in discount_redemptions.
code_positions as (
    select positions.n
    from (values (1), (2), (3), (4), (5), (6), (7), (8)) as positions (n)
),

order_codes as (
    select distinct
        orders.order_key,
        upper(trim(split_part(orders.discount_codes, ',', code_positions.n))) as code_match
    from orders
    cross join code_positions
    where orders.is_valid
        and orders.discount_codes is not null
        and trim(split_part(orders.discount_codes, ',', code_positions.n)) <> ''
),

code_candidates as (
    select
        order_codes.order_key,
        1 as precedence,
        'discount_code' as evidence,
        'customer_referral' as partner_type,
        'customer:' || codes.customer_id as partner_id,
        codes.customer_id as referrer_customer_id,
        codes.referral_code,
        cast(null as {{ dbt.type_string() }}) as session_key,
        cast(null as timestamp) as session_started_at
    from order_codes
    inner join codes on order_codes.code_match = codes.referral_code
),

buyer_link_sessions as (
    select
        attribution.order_key,
        referral_sessions.session_key
    from attribution
    inner join identity_map on attribution.customer_id = identity_map.customer_id
    inner join referral_sessions
        on identity_map.user_pseudo_id = referral_sessions.user_pseudo_id
        and referral_sessions.evidence = 'referral_link'
        and attribution.ordered_at >= referral_sessions.started_at
        and referral_sessions.started_at >= {{ dbt.dateadd(
            'day', -(var('attribution_lookback_days') | int), 'attribution.ordered_at'
        ) }}
    union
    select
        attribution.order_key,
        referral_sessions.session_key
    from attribution
    inner join referral_sessions
        on attribution.session_key = referral_sessions.session_key
        and referral_sessions.evidence = 'referral_link'
),

link_candidates as (
    select
        buyer_link_sessions.order_key,
        2 as precedence,
        referral_sessions.evidence,
        referral_sessions.partner_type,
        referral_sessions.partner_id,
        referral_sessions.referrer_customer_id,
        referral_sessions.referral_code,
        referral_sessions.session_key,
        referral_sessions.started_at as session_started_at
    from buyer_link_sessions
    inner join referral_sessions on buyer_link_sessions.session_key = referral_sessions.session_key
),

utm_candidates as (
    select
        attribution.order_key,
        3 as precedence,
        referral_sessions.evidence,
        referral_sessions.partner_type,
        referral_sessions.partner_id,
        referral_sessions.referrer_customer_id,
        referral_sessions.referral_code,
        referral_sessions.session_key,
        referral_sessions.started_at as session_started_at
    from attribution
    inner join referral_sessions
        on attribution.session_key = referral_sessions.session_key
        and referral_sessions.evidence = 'affiliate_utm'
),

candidates as (
    select * from code_candidates
    union all
    select * from link_candidates
    union all
    select * from utm_candidates
),

ranked as (
    select
        candidates.*,
        row_number() over (
            partition by candidates.order_key
            order by
                candidates.precedence asc,
                candidates.session_started_at desc nulls last,
                candidates.referral_code asc,
                candidates.session_key asc
        ) as candidate_order
    from candidates
    inner join attribution on candidates.order_key = attribution.order_key
    inner join orders
        on candidates.order_key = orders.order_key
        and orders.is_valid
        and orders.is_own_shop
    -- Self-referral: the buyer's own code or link credits nobody.
    where candidates.referrer_customer_id is null
        or attribution.customer_id is null
        or candidates.referrer_customer_id <> attribution.customer_id
),

credited as (
    select
        attribution.order_key,
        attribution.customer_id,
        attribution.ordered_at,
        attribution.order_date,
        attribution.is_first_order,
        attribution.net_revenue_reporting,
        ranked.evidence,
        ranked.partner_type,
        ranked.partner_id,
        ranked.referrer_customer_id,
        ranked.referral_code,
        ranked.session_key
    from ranked
    inner join attribution on ranked.order_key = attribution.order_key
    where ranked.candidate_order = 1
),

-- The partner's own rule, else its type's.
rule_choice as (
    select
        credited.order_key,
        credited.net_revenue_reporting * coalesce(rules.rate_pct, 0) / 100 + coalesce(rules.fixed_per_order, 0)
            as amount,
        rules.first_order_only,
        rules.cap_per_order,
        row_number() over (
            partition by credited.order_key
            order by case when rules.partner_id is not null then 0 else 1 end
        ) as rule_order
    from credited
    inner join rules
        on credited.partner_type = rules.partner_type
        and (rules.partner_id is null or credited.partner_id = rules.partner_id)
),

final as (
    select
        credited.order_key,
        credited.customer_id,
        credited.ordered_at,
        credited.order_date,
        credited.is_first_order,
        credited.evidence,
        credited.partner_type,
        credited.partner_id,
        credited.referrer_customer_id,
        credited.referral_code,
        credited.session_key,
        credited.net_revenue_reporting,
        cast(case
            when rule_choice.order_key is null then 0
            when rule_choice.first_order_only and not credited.is_first_order then 0
            when credited.net_revenue_reporting is null then null
            when rule_choice.cap_per_order is null then rule_choice.amount
            else least(rule_choice.amount, rule_choice.cap_per_order)
        end as decimal(18, 2)) as commission_reporting
    from credited
    left join rule_choice
        on credited.order_key = rule_choice.order_key
        and rule_choice.rule_order = 1
)

select * from final

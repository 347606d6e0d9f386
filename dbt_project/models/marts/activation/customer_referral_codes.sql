{#- One row per customer who may receive marketing e-mail (int_customers: consent_email, an e-mail, no
    opt_out/delete request): the customer's referral code (int_referral_codes: keyed SHA-256 of the customer key,
    stable and unguessable, never derived from the e-mail), the link to share (var referral_link_base with the code
    in query parameter var referral_link_parameter) and what the customer's referrals brought so far
    (int_order_referrals, self-referral excluded). A customer who withdraws consent leaves the model (the Klaviyo
    sync removes them from the list); their code keeps crediting them. -#}
with

customers as (
    select * from {{ ref('int_customers') }}
),

codes as (
    select * from {{ ref('int_referral_codes') }}
),

order_referrals as (
    select * from {{ ref('int_order_referrals') }}
),

referred as (
    select
        referrer_customer_id,
        count(*) as referred_orders,
        sum(case when is_first_order then 1 else 0 end) as referred_customers
    from order_referrals
    where referrer_customer_id is not null
    group by referrer_customer_id
),

final as (
    select
        cast(customers.customer_id as text) as customer_id,
        cast(customers.email_normalized as text) as email,
        cast(codes.referral_code as text) as referral_code,
        cast(
            '{{ var("referral_link_base") }}?{{ var("referral_link_parameter") }}=' || codes.referral_code as text
        ) as referral_link,
        cast(coalesce(referred.referred_orders, 0) as bigint) as referred_orders,
        cast(coalesce(referred.referred_customers, 0) as bigint) as referred_customers
    from customers
    inner join codes on customers.customer_id = codes.customer_id
    left join referred on customers.customer_id = referred.referrer_customer_id
    where customers.consent_email
        and not customers.is_privacy_blocked
        and customers.email_normalized is not null
)

select * from final

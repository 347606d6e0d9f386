{#- One row per shop customer with normalised identifiers, consent and privacy status applied. -#}
with

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

privacy_requests as (
    select * from {{ ref('stg_files__privacy_requests') }}
),

normalised as (
    select
        customers.customer_id,
        {{ normalize_email('customers.email') }} as email_normalized,
        {{ normalize_phone_e164_digits(
            'customers.phone', 'calling_codes.calling_code', 'calling_codes.trunk_prefix'
        ) }} as phone_e164_digits,
        customers.country_code,
        customers.region,
        customers.city,
        customers.accepts_marketing,
        customers.email_marketing_consent_state,
        customers.tags,
        customers.created_at
    from customers
    left join calling_codes on customers.country_code = calling_codes.country_code
),

-- A request matches by customer id (as text: request ids are the merchant's text keys) or by the normalised
-- e-mail (requests sent by people, not systems); either may be missing from a request. Two equi-joins rather
-- than one OR join, which would be a nested loop over all customers.
blocking_requests as (
    select
        customer_id,
        {{ normalize_email('email') }} as email_normalized
    from privacy_requests
    where request_type in ('opt_out', 'delete')
),

blocked as (
    select normalised.customer_id
    from normalised
    inner join blocking_requests
        on cast(normalised.customer_id as {{ dbt.type_string() }}) = blocking_requests.customer_id
    union
    select normalised.customer_id
    from normalised
    inner join blocking_requests on normalised.email_normalized = blocking_requests.email_normalized
),

final as (
    select
        normalised.customer_id,
        normalised.email_normalized,
        normalised.phone_e164_digits,
        normalised.country_code,
        normalised.region,
        normalised.city,
        normalised.created_at,
        -- Shopify's consent state is authoritative; accepts_marketing is the legacy flag for older records.
        coalesce(
            normalised.email_marketing_consent_state = 'subscribed',
            coalesce(normalised.accepts_marketing, false)
        ) as consent_email,
        coalesce(normalised.accepts_marketing, false) as consent_ads,
        blocked.customer_id is not null as is_privacy_blocked
    from normalised
    left join blocked on normalised.customer_id = blocked.customer_id
)

select * from final

{#- One row per customer (every key int_customer_identity_links resolves to): Shopify customers with their
    profile, and buyers known only to the order file or a marketplace. Identifiers are normalised for matching;
    the e-mail is the Shopify profile's, else the usable e-mail of the customer's earliest linked record (never a
    marketplace relay address). Consent: a customer with a Shopify profile has Shopify's (authoritative, whatever
    the order file says); any other customer has the latest answer the order file states for any of its linked
    records (accepts_marketing: e-mail and ads alike; of two stated at the same moment, the no), none when no
    order states one. A privacy request (opt_out/delete) blocks the customer, whatever its consent, when its text
    customer_id equals the customer's key or the key of any record linked to it, or its normalised e-mail equals
    any linked record's usable e-mail. -#}
with

links as (
    select * from {{ ref('int_customer_identity_links') }}
),

shop_customers as (
    select * from {{ ref('stg_shop__customers') }}
),

calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

privacy_requests as (
    select * from {{ ref('stg_files__privacy_requests') }}
),

file_consents as (
    select
        customer_id,
        accepts_marketing,
        row_number() over (
            partition by customer_id
            order by accepts_marketing_stated_at desc, case when accepts_marketing then 1 else 0 end asc
        ) as statement_order
    from links
    where accepts_marketing is not null
),

linked_emails as (
    select
        customer_id,
        email_normalized,
        row_number() over (
            partition by customer_id
            order by case when key_kind = 'shop_customer_id' then 0 else 1 end, first_seen_at, email_normalized
        ) as email_order
    from links
    where email_normalized is not null
),

customer_keys as (
    select
        customer_id,
        min(first_seen_at) as first_seen_at
    from links
    group by customer_id
),

normalised as (
    select
        customer_keys.customer_id,
        linked_emails.email_normalized,
        {{ normalize_phone_e164_digits(
            'shop_customers.phone', 'calling_codes.calling_code', 'calling_codes.trunk_prefix'
        ) }} as phone_e164_digits,
        shop_customers.country_code,
        shop_customers.region,
        shop_customers.city,
        shop_customers.accepts_marketing,
        shop_customers.email_marketing_consent_state,
        shop_customers.customer_id is not null as has_shop_profile,
        file_consents.accepts_marketing as file_accepts_marketing,
        coalesce(shop_customers.created_at, customer_keys.first_seen_at) as created_at
    from customer_keys
    left join linked_emails
        on customer_keys.customer_id = linked_emails.customer_id
        and linked_emails.email_order = 1
    left join shop_customers on customer_keys.customer_id = shop_customers.customer_id
    left join file_consents
        on customer_keys.customer_id = file_consents.customer_id
        and file_consents.statement_order = 1
    left join calling_codes on shop_customers.country_code = calling_codes.country_code
),

-- Requests sent by people name an e-mail, those sent by systems a key; either may be missing. Each is one
-- equi-join over the linked records (an OR join would be a nested loop over all of them).
blocking_requests as (
    select
        customer_id,
        {{ normalize_email('email') }} as email_normalized
    from privacy_requests
    where request_type in ('opt_out', 'delete')
),

request_keys as (
    select
        customer_id as request_key,
        customer_id
    from links
    union
    select
        source_key as request_key,
        customer_id
    from links
    where key_kind in ('shop_customer_id', 'merchant_customer_id')
),

blocked as (
    select request_keys.customer_id
    from request_keys
    inner join blocking_requests on request_keys.request_key = blocking_requests.customer_id
    union
    select links.customer_id
    from links
    inner join blocking_requests on links.email_normalized = blocking_requests.email_normalized
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
        case
            when not normalised.has_shop_profile then coalesce(normalised.file_accepts_marketing, false)
            when normalised.email_marketing_consent_state is not null
                then normalised.email_marketing_consent_state = 'subscribed'
            else coalesce(normalised.accepts_marketing, false)
        end as consent_email,
        case
            when normalised.has_shop_profile then coalesce(normalised.accepts_marketing, false)
            else coalesce(normalised.file_accepts_marketing, false)
        end as consent_ads,
        blocked.customer_id is not null as is_privacy_blocked
    from normalised
    left join blocked on normalised.customer_id = blocked.customer_id
)

select * from final

{#- One row per (audience, customer). Audiences are defined in the seed audiences (audience_id ->
    segment_pattern, a SQL LIKE pattern over customer_segments.segment); an audience_id ending in '*' expands to
    one audience per matched segment value, e.g. 'cross_sell_*' + 'cross_sell:%' -> cross_sell_<category>.
    Privacy: customers with an opt_out/delete request, with neither e-mail nor ads consent, or with no usable
    identifier (int_customers carries no marketplace relay address, so a buyer known only by one has none)
    never appear.
    email is the normalised address only where the customer consented to e-mail; email_sha256/phone_sha256/
    phone_e164_sha256 (normalised, SHA-256 hex) only where the customer consented to ads. is_holdout is a deterministic
    var holdout_share sample keyed on hash(customer_id || var holdout_salt): the same customers are held out
    on every run and every warehouse. referral_code (int_referral_codes) only where the customer consented to
    e-mail, as customer_referral_codes publishes it. -#}
with

segments as (
    select
        *,
        {{ slugify(dbt.split_part('segment', "':'", 2)) }} as segment_suffix
    from {{ ref('customer_segments') }}
),

audience_definitions as (
    select * from {{ ref('audiences') }}
),

customers as (
    select * from {{ ref('int_customers') }}
),

rfm as (
    select * from {{ ref('customer_rfm') }}
),

top_recommendations as (
    select * from {{ ref('int_customer_top_recommendations') }}
),

referral_codes as (
    select * from {{ ref('int_referral_codes') }}
),

matched as (
    select
        case
            when audience_definitions.audience_id like '%*'
                then replace(audience_definitions.audience_id, '*', '') || segments.segment_suffix
            else audience_definitions.audience_id
        end as audience_id,
        segments.customer_id,
        audience_definitions.discount_code
    from segments
    inner join audience_definitions on segments.segment like audience_definitions.segment_pattern
),

deduplicated as (
    select
        audience_id,
        customer_id,
        max(discount_code) as discount_code
    from matched
    group by audience_id, customer_id
),

eligible_customers as (
    select * from customers
    where not is_privacy_blocked
        and (consent_email or consent_ads)
        and (email_normalized is not null or phone_e164_digits is not null)
),

-- Identifiers and the holdout draw hashed once per member customer, not once per (audience, customer) row: a
-- customer is in several audiences, and the hashes are the costliest step of the model.
member_identifiers as (
    select
        customer_id,
        cast(case when consent_email then email_normalized end as text) as email,
        cast({{ sha256_hex_with_consent('consent_ads', 'email_normalized') }} as text) as email_sha256,
        cast({{ sha256_hex_with_consent('consent_ads', 'phone_e164_digits') }} as text) as phone_sha256,
        -- Google Customer Match hashes the E.164 form with its '+'; Meta hashes the digits alone.
        cast({{ sha256_hex_with_consent(
            'consent_ads', 'phone_e164_digits', "'+' || phone_e164_digits"
        ) }} as text) as phone_e164_sha256,
        cast(country_code as text) as country_code,
        {{ hash_bucket(
            "cast(customer_id as " ~ dbt.type_string() ~ ") || '" ~ var('holdout_salt') ~ "'",
            10000
        ) }} < {{ (var('holdout_share') | float * 10000) | int }} as is_holdout,
        consent_email,
        consent_ads
    from eligible_customers
    where eligible_customers.customer_id in (select deduplicated.customer_id from deduplicated)
),

final as (
    select
        cast(deduplicated.audience_id as text) as audience_id,
        cast(deduplicated.customer_id as text) as customer_id,
        member_identifiers.email,
        member_identifiers.email_sha256,
        member_identifiers.phone_sha256,
        member_identifiers.phone_e164_sha256,
        member_identifiers.country_code,
        cast(rfm.rfm_segment as text) as rfm_segment,
        cast(rfm.monetary as decimal(18, 2)) as customer_value,
        cast(top_recommendations.recommended_skus as text) as recommended_skus,
        cast(deduplicated.discount_code as text) as discount_code,
        member_identifiers.is_holdout,
        member_identifiers.consent_email,
        member_identifiers.consent_ads,
        cast(case when member_identifiers.consent_email then referral_codes.referral_code end as text)
            as referral_code
    from deduplicated
    inner join member_identifiers on deduplicated.customer_id = member_identifiers.customer_id
    left join rfm on deduplicated.customer_id = rfm.customer_id
    left join top_recommendations on deduplicated.customer_id = top_recommendations.customer_id
    left join referral_codes on deduplicated.customer_id = referral_codes.customer_id
)

select * from final

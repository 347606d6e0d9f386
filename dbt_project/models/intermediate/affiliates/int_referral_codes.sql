{#- One row per customer (int_customers): the customer's referral code. The code is the first 10 hex digits
    (upper case) of SHA-256(var referral_code_key || ':' || customer_id) after var referral_code_prefix: stable
    for as long as the key is (the same customer gets the same code on every run and warehouse), unguessable
    without the key, and derived from the customer key, never from an e-mail. Every customer has one, consenting
    or not, so a code handed out earlier still credits its referrer after a change of consent;
    customer_referral_codes publishes only the consenting customers' codes. -#}
with

customers as (
    select * from {{ ref('int_customers') }}
),

final as (
    select
        customer_id,
        '{{ var("referral_code_prefix") }}' || upper(substr(
            {{ sha256_hex("'" ~ var('referral_code_key') ~ "' || ':' || customer_id") }}, 1, 10
        )) as referral_code
    from customers
)

select * from final

{#- Identity resolution: one row per buyer record (source, key_kind, source_key) with the customer it belongs to.
    Records are the shop's customers and every order's buyer key (int_order_buyers). Each record's customer, by
    the first rule that applies (linked_by):
    - own_key        a Shopify customer is the customer under its own id (text);
    - shop_id        a customer id from the merchant's own systems (a channel with is_own_shop: the order file)
                     equal, text for text, to a Shopify customer id is that customer ('17' is; '00017', '17.0',
                     'c-17' are not);
    - email_address  the record's usable e-mail is held by a record ranked before it: Shopify customers first,
                     then the merchant's own channels, then marketplaces, then earliest seen, then lowest key;
                     the record joins that record's customer (one hop: a record carries one e-mail, its latest
                     usable one);
    - own_key        otherwise the record is a customer of its own. Key scheme: the merchant's keys stay as they
                     are (Shopify id, the order file's customer_id exactly); every other key is namespaced as
                     '<marketplace>:<source_key>' (seed marketplaces), e.g. 'ebay:<sha256 of the username>'. A
                     marketplace-only buyer never collides with a merchant key unless the merchant's own keys
                     use that very '<marketplace>:' form.
    Usable e-mail = normalised, contains an '@', and its domain matches no pattern of the seed
    relay_email_domains (marketplace relay/alias addresses link nobody and are never marketing identifiers).
    accepts_marketing is the consent the record's latest order stating one gives (an order that states none
    leaves the earlier answer standing; of two stated at the same moment, the no), with when it was stated;
    null for a record no order states consent for (Shopify customers keep theirs in their profile). -#}
with

order_buyers as (
    select * from {{ ref('int_order_buyers') }}
),

shop_customers as (
    select * from {{ ref('stg_shop__customers') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

relay_domains as (
    select * from {{ ref('relay_email_domains') }}
),

-- Shopify's customers belong to the channel whose orders stg_shop__orders holds.
customer_profiles as (
    select
        marketplaces.marketplace as source,
        marketplaces.is_own_shop,
        'shop_customer_id' as key_kind,
        shop_customers.customer_id as source_key,
        {{ normalize_email('shop_customers.email') }} as email_normalized,
        true as is_profile,
        shop_customers.created_at as seen_at
    from shop_customers
    inner join marketplaces on marketplaces.orders_model = 'stg_shop__orders'
),

sightings as (
    select * from customer_profiles
    union all
    select
        source,
        is_own_shop,
        key_kind,
        buyer_key as source_key,
        email_normalized,
        false as is_profile,
        ordered_at as seen_at
    from order_buyers
    where buyer_key is not null
),

relay_emails as (
    select distinct sightings.email_normalized
    from sightings
    inner join relay_domains
        on {{ dbt.split_part('sightings.email_normalized', "'@'", 2) }} like relay_domains.domain_pattern
),

-- The profile's e-mail before any order's, then the latest.
usable_emails as (
    select
        sightings.source,
        sightings.key_kind,
        sightings.source_key,
        sightings.email_normalized,
        row_number() over (
            partition by sightings.source, sightings.key_kind, sightings.source_key
            order by
                case when sightings.is_profile then 0 else 1 end asc,
                sightings.seen_at desc,
                sightings.email_normalized asc
        ) as email_order
    from sightings
    left join relay_emails on sightings.email_normalized = relay_emails.email_normalized
    where sightings.email_normalized like '%_@_%'
        and relay_emails.email_normalized is null
),

consent_statements as (
    select
        source,
        key_kind,
        buyer_key as source_key,
        accepts_marketing,
        ordered_at as stated_at,
        row_number() over (
            partition by source, key_kind, buyer_key
            order by ordered_at desc, case when accepts_marketing then 1 else 0 end asc
        ) as statement_order
    from order_buyers
    where buyer_key is not null
        and accepts_marketing is not null
),

records as (
    select
        source,
        is_own_shop,
        key_kind,
        source_key,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at
    from sightings
    group by source, is_own_shop, key_kind, source_key
),

shop_ids as (
    select distinct source_key as customer_id
    from records
    where key_kind = 'shop_customer_id'
),

keyed as (
    select
        records.source,
        records.is_own_shop,
        records.key_kind,
        records.source_key,
        records.first_seen_at,
        records.last_seen_at,
        usable_emails.email_normalized,
        case
            when records.key_kind in ('shop_customer_id', 'merchant_customer_id') then records.source_key
            else records.source || ':' || records.source_key
        end as own_key,
        case
            when records.key_kind = 'shop_customer_id' then records.source_key
            when records.key_kind = 'merchant_customer_id' and records.is_own_shop then shop_ids.customer_id
        end as shop_customer_id
    from records
    left join usable_emails
        on records.source = usable_emails.source
        and records.key_kind = usable_emails.key_kind
        and records.source_key = usable_emails.source_key
        and usable_emails.email_order = 1
    left join shop_ids on records.source_key = shop_ids.customer_id
),

email_candidates as (
    select
        email_normalized,
        coalesce(shop_customer_id, own_key) as customer_id,
        row_number() over (
            partition by email_normalized
            order by
                case when key_kind = 'shop_customer_id' then 0 when is_own_shop then 1 else 2 end,
                first_seen_at,
                coalesce(shop_customer_id, own_key)
        ) as owner_order
    from keyed
    where email_normalized is not null
),

email_owners as (
    select
        email_normalized,
        customer_id
    from email_candidates
    where owner_order = 1
),

final as (
    select
        keyed.source,
        keyed.key_kind,
        keyed.source_key,
        case
            when keyed.shop_customer_id is not null then keyed.shop_customer_id
            when email_owners.customer_id is not null then email_owners.customer_id
            else keyed.own_key
        end as customer_id,
        case
            when keyed.key_kind = 'shop_customer_id' then 'own_key'
            when keyed.shop_customer_id is not null then 'shop_id'
            when email_owners.customer_id is not null and email_owners.customer_id <> keyed.own_key
                then 'email_address'
            else 'own_key'
        end as linked_by,
        keyed.is_own_shop,
        keyed.email_normalized,
        keyed.first_seen_at,
        keyed.last_seen_at,
        consent_statements.accepts_marketing,
        consent_statements.stated_at as accepts_marketing_stated_at
    from keyed
    left join email_owners on keyed.email_normalized = email_owners.email_normalized
    left join consent_statements
        on keyed.source = consent_statements.source
        and keyed.key_kind = consent_statements.key_kind
        and keyed.source_key = consent_statements.source_key
        and consent_statements.statement_order = 1
)

select * from final

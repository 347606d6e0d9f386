{#- One row per source record key and the customer it belongs to: every buyer record identity resolution saw
    (int_customer_identity_links: Shopify customers, order-file keys, marketplace buyers) and every GA4 browser
    stitched to a customer (int_identity_map). The rules are documented in those two models' headers. -#}
with

buyer_links as (
    select * from {{ ref('int_customer_identity_links') }}
),

browser_links as (
    select * from {{ ref('int_identity_map') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

-- GA4 tracks the shop's own site: its browsers are records of the channel whose orders stg_shop__orders holds.
browsers as (
    select
        marketplaces.marketplace as source,
        'ga4_user_pseudo_id' as key_kind,
        browser_links.user_pseudo_id as source_key,
        browser_links.customer_id,
        browser_links.matched_by as linked_by,
        browser_links.first_seen_at,
        browser_links.last_seen_at
    from browser_links
    inner join marketplaces on marketplaces.orders_model = 'stg_shop__orders'
),

buyers as (
    select
        source,
        key_kind,
        source_key,
        customer_id,
        linked_by,
        first_seen_at,
        last_seen_at
    from buyer_links
),

unioned as (
    select * from buyers
    union all
    select * from browsers
),

final as (
    select
        cast(source as text) as source,
        cast(key_kind as text) as key_kind,
        cast(source_key as text) as source_key,
        cast(customer_id as text) as customer_id,
        cast(linked_by as text) as linked_by,
        cast(first_seen_at as timestamp) as first_seen_at,
        cast(last_seen_at as timestamp) as last_seen_at
    from unioned
)

select * from final

{#- One row per order, of every channel, that names its buyer: the buyer's key in that channel's own terms.
    key_kind says what the key is:
    - shop_customer_id       Shopify's customer id (text);
    - merchant_customer_id   the order file's customer_id, text exactly as the merchant's system exports it;
    - buyer_username_sha256  SHA-256 of eBay's buyer username (the marketplace's stable buyer id; hashed so no
                             marts carry it);
    - buyer_email_sha256     SHA-256 of the normalised buyer e-mail, where the e-mail is all that names the
                             buyer: Amazon (BuyerEmail, a relay address per buyer) and file rows without a
                             customer_id.
    Orders naming no buyer at all (guest checkouts without a customer, marketplace orders whose buyer data has
    expired) have no row: nothing says who bought them.
    accepts_marketing is the buyer's marketing consent as the order file states it with the order (null: the
    order states nothing; every other channel records consent elsewhere or not at all). Lines of one order that
    disagree count as a no. -#}
with

shop_orders as (
    select * from {{ ref('stg_shop__orders') }}
),

file_lines as (
    select * from {{ ref('stg_files__order_lines') }}
),

ebay_orders as (
    select * from {{ ref('stg_ebay__orders') }}
),

amazon_orders as (
    select * from {{ ref('stg_amazon__orders') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

shop as (
    select
        'stg_shop__orders' as orders_model,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        'shop_customer_id' as key_kind,
        customer_id as buyer_key,
        {{ normalize_email('email') }} as email_normalized,
        created_at as ordered_at,
        cast(null as boolean) as accepts_marketing
    from shop_orders
    where customer_id is not null
),

file_orders as (
    select
        order_id,
        max(customer_ref) as customer_ref,
        max({{ normalize_email('email') }}) as email_normalized,
        min(ordered_at) as ordered_at,
        bool_and(accepts_marketing) as accepts_marketing
    from file_lines
    group by order_id
),

file_import as (
    select
        'stg_files__order_lines' as orders_model,
        order_id,
        case when customer_ref is not null then 'merchant_customer_id' else 'buyer_email_sha256' end as key_kind,
        coalesce(customer_ref, {{ sha256_hex('email_normalized') }}) as buyer_key,
        email_normalized,
        ordered_at,
        accepts_marketing
    from file_orders
    where customer_ref is not null
        or email_normalized is not null
),

ebay as (
    select
        'stg_ebay__orders' as orders_model,
        order_id,
        'buyer_username_sha256' as key_kind,
        {{ sha256_hex('trim(buyer_username)') }} as buyer_key,
        {{ normalize_email('buyer_email') }} as email_normalized,
        created_at as ordered_at,
        cast(null as boolean) as accepts_marketing
    from ebay_orders
    where nullif(trim(buyer_username), '') is not null
),

amazon as (
    select
        'stg_amazon__orders' as orders_model,
        order_id,
        'buyer_email_sha256' as key_kind,
        {{ sha256_hex(normalize_email('buyer_email')) }} as buyer_key,
        {{ normalize_email('buyer_email') }} as email_normalized,
        created_at as ordered_at,
        cast(null as boolean) as accepts_marketing
    from amazon_orders
    where {{ normalize_email('buyer_email') }} is not null
),

unioned as (
    select * from shop
    union all
    select * from file_import
    union all
    select * from ebay
    union all
    select * from amazon
),

final as (
    select
        unioned.orders_model,
        unioned.order_id,
        marketplaces.marketplace as source,
        marketplaces.is_own_shop,
        unioned.key_kind,
        unioned.buyer_key,
        unioned.email_normalized,
        unioned.ordered_at,
        unioned.accepts_marketing
    from unioned
    inner join marketplaces on unioned.orders_model = marketplaces.orders_model
)

select * from final

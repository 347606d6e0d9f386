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
    disagree count as a no.
    Incremental (unique_key orders_model + order_id, delete+insert): loaded_at is the latest load time
    (_loaded_at) of the order's source rows; a run re-derives the orders with a source row loaded after the newest
    loaded_at built (new orders, merged updates, a new version of an order file), and every order after the
    privacy purge erased someone (it blanks columns in place, leaving the load time as it was). An order that no
    longer names a buyer, or whose source rows are gone (an order file's new version without it), is written
    once with a null buyer_key and deleted by the model's post-hook. A new order source loaded by replacing
    partitions needs its own case in CTE vanished. -#}
{%- set newest_loaded_at = newest_built_value('loaded_at') %}
{%- set changed_only = newest_loaded_at is not none and not erased_since(newest_loaded_at) %}
{%- set changed = ('and loaded_at > ' ~ timestamp_literal(newest_loaded_at)) if changed_only else '' %}
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
        cast(null as boolean) as accepts_marketing,
        loaded_at
    from shop_orders
    where true {{ changed }}
),

file_orders as (
    select
        order_id,
        max(customer_ref) as customer_ref,
        max({{ normalize_email('email') }}) as email_normalized,
        min(ordered_at) as ordered_at,
        bool_and(accepts_marketing) as accepts_marketing,
        max(loaded_at) as loaded_at
    from file_lines
    {% if changed_only %}
        -- every line of an order with a line loaded since
        where order_id in (select order_id from file_lines where true {{ changed }})
    {% endif %}
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
        accepts_marketing,
        loaded_at
    from file_orders
),

ebay as (
    select
        'stg_ebay__orders' as orders_model,
        order_id,
        'buyer_username_sha256' as key_kind,
        case
            when nullif(trim(buyer_username), '') is not null then {{ sha256_hex('trim(buyer_username)') }}
        end as buyer_key,
        {{ normalize_email('buyer_email') }} as email_normalized,
        created_at as ordered_at,
        cast(null as boolean) as accepts_marketing,
        loaded_at
    from ebay_orders
    where true {{ changed }}
),

amazon as (
    select
        'stg_amazon__orders' as orders_model,
        order_id,
        'buyer_email_sha256' as key_kind,
        {{ sha256_hex(normalize_email('buyer_email')) }} as buyer_key,
        {{ normalize_email('buyer_email') }} as email_normalized,
        created_at as ordered_at,
        cast(null as boolean) as accepts_marketing,
        loaded_at
    from amazon_orders
    where true {{ changed }}
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

{% if newest_loaded_at is not none %}
-- Orders built before whose source rows are gone: written with a null buyer_key, which the post-hook deletes.
-- Only order-file rows can go: the loader replaces a file's rows by its new version (partition _file_name),
-- while the other order sources merge on their key (a reload replaces the row, never drops it).
vanished as (
    select
        built.orders_model,
        built.order_id,
        cast(null as {{ dbt.type_string() }}) as key_kind,
        cast(null as {{ dbt.type_string() }}) as buyer_key,
        cast(null as {{ dbt.type_string() }}) as email_normalized,
        cast(null as timestamp) as ordered_at,
        cast(null as boolean) as accepts_marketing,
        cast(null as timestamp) as loaded_at
    from {{ this }} as built
    where built.orders_model = 'stg_files__order_lines'
        and not exists (select 1 from file_lines where file_lines.order_id = built.order_id)
),
{% endif %}

rows_in_scope as (
    select * from unioned
    {% if newest_loaded_at is not none %}
        union all
        select * from vanished
    {% endif %}
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
        unioned.accepts_marketing,
        unioned.loaded_at
    from rows_in_scope as unioned
    inner join marketplaces on unioned.orders_model = marketplaces.orders_model
    {% if newest_loaded_at is none %}
        where unioned.buyer_key is not null
    {% endif %}
)

select * from final

{#- One row per (customer, sku, signal, day) of stitched web behaviour in the last var product_signal_days days up to
    as_of_date: every GA4 event item (view_item, add_to_wishlist, add_to_cart, begin_checkout, purchase, ...) and
    every site search whose term matched the product. Daily grain keeps it small (a customer viewing a product
    twenty times a day is one row) while each reader still applies its own, shorter window.
    A search matches a product when its trimmed, lower-cased term (at least var search_term_min_length
    characters) occurs in the product's title or equals its category; it counts 1 / (products the term
    matched), so a vague term spreads one search thinly instead of boosting the whole catalogue, and a term
    matching more than var search_term_max_products products says too little about what the customer wanted to
    count at all (it would also multiply every such search by a large part of the catalogue). -#}
with

item_events as (
    select * from {{ ref('int_web_item_events') }}
    where event_date > {{ dbt.dateadd('day', -(var('product_signal_days') | int), as_of_date()) }}
        and event_date <= {{ as_of_date() }}
),

events as (
    select * from {{ ref('int_web_events') }}
    where event_date > {{ dbt.dateadd('day', -(var('product_signal_days') | int), as_of_date()) }}
        and event_date <= {{ as_of_date() }}
),

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

products as (
    select * from {{ ref('int_products') }}
),

item_signals as (
    select
        user_pseudo_id,
        sku,
        event_name as signal,
        event_date,
        event_at,
        cast(1 as {{ type_double() }}) as signal_count
    from item_events
),

searches as (
    select
        user_pseudo_id,
        lower(trim(search_term)) as search_term,
        event_date,
        event_at
    from events
    -- GA4's names: view_search_results (enhanced measurement) and search (the recommended event).
    where event_name in ('view_search_results', 'search')
        and length(trim(search_term)) >= {{ var('search_term_min_length') | int }}
),

search_terms as (
    select distinct search_term from searches
),

term_products as (
    select
        search_terms.search_term,
        products.sku
    from search_terms
    inner join products
        on position(search_terms.search_term in lower(products.product_title)) > 0
        or search_terms.search_term = lower(products.category)
),

term_matches as (
    select
        search_term,
        sku,
        count(*) over (partition by search_term) as matched_products
    from term_products
),

term_shares as (
    select
        search_term,
        sku,
        1.0 / matched_products as share
    from term_matches
    where matched_products <= {{ var('search_term_max_products') | int }}
),

search_signals as (
    select
        searches.user_pseudo_id,
        term_shares.sku,
        'search' as signal,
        searches.event_date,
        searches.event_at,
        cast(term_shares.share as {{ type_double() }}) as signal_count
    from searches
    inner join term_shares on searches.search_term = term_shares.search_term
),

signals as (
    select * from item_signals
    union all
    select * from search_signals
),

final as (
    select
        cast(identity_map.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(signals.sku as {{ dbt.type_string() }}) as sku,
        cast(signals.signal as {{ dbt.type_string() }}) as signal,
        cast(signals.event_date as date) as event_date,
        cast(sum(signals.signal_count) as {{ type_double() }}) as signal_count,
        min(signals.event_at) as first_at,
        max(signals.event_at) as last_at
    from signals
    inner join identity_map on signals.user_pseudo_id = identity_map.user_pseudo_id
    group by identity_map.customer_id, signals.sku, signals.signal, signals.event_date
)

select * from final

{#- One row per (customer, recommended sku), at most var recommendations_top_n per customer.
    Candidates, each from its own evidence:
    - cross_sell: co-purchase affinity over customers' baskets (every sku a customer bought in a valid order):
      support(A,B) = share of buyers who bought both, confidence(A->B) = P(B | A), lift = confidence / P(B).
      A customer's candidates are the skus B they have not bought, with the best lift over the skus A they did
      buy (pairs bought together by at least var recommendations_min_pair_customers customers); because_of_sku = A.
    - upsell: the cheapest available product of a category priced above the most expensive product the customer
      bought in it (because_of_sku = that product), unless it is already a cross-sell candidate.
    - browsed: any other product the customer showed interest in on the site.
    browse_score = sum over the customer's web signals on the sku in the last var recommendations_browse_days days
    (int_customer_product_signals) of signal_count x the signal's weight (seed product_signal_weights: a view 1,
    a wishlist 2, a cart or checkout 3, a matching search 0.5 split over the products its term matched).
    score = lift (cross_sell) or 1 (upsell, neutral) or 0 (browsed), plus browse_score: what the customer looked
    at lifts the co-purchase candidates it agrees with and brings in products no basket points to.
    Excluded everywhere: skus the customer already bought, products not active, products the latest ERP snapshot
    holds none of (a sku without a snapshot is not known to be out of stock and stays). Ranked by score, then
    kind, then sku. -#}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

products as (
    select * from {{ ref('int_products') }}
),

signals as (
    select * from {{ ref('int_customer_product_signals') }}
    where event_date > {{ dbt.dateadd('day', -(var('recommendations_browse_days') | int), as_of_date()) }}
),

signal_weights as (
    select * from {{ ref('product_signal_weights') }}
),

available_products as (
    select * from products
    where status = 'active'
        and (on_hand is null or on_hand > 0)
),

baskets as (
    select distinct
        orders.customer_id,
        order_lines.sku
    from order_lines
    inner join orders on order_lines.order_key = orders.order_key
    inner join products on order_lines.sku = products.sku
    where orders.is_valid
        and orders.customer_id is not null
        and order_lines.net_quantity > 0
),

buyer_count as (
    select count(distinct customer_id) as buyers from baskets
),

sku_buyers as (
    select
        sku,
        count(*) as buyers
    from baskets
    group by sku
),

pair_buyers as (
    select
        basket_a.sku as sku_a,
        basket_b.sku as sku_b,
        count(*) as buyers
    from baskets as basket_a
    inner join baskets as basket_b
        on basket_a.customer_id = basket_b.customer_id
        and basket_a.sku <> basket_b.sku
    group by basket_a.sku, basket_b.sku
    having count(*) >= {{ var('recommendations_min_pair_customers') | int }}
),

pair_stats as (
    select
        pair_buyers.sku_a,
        pair_buyers.sku_b,
        cast(pair_buyers.buyers as {{ type_double() }}) / buyer_count.buyers as support,
        cast(pair_buyers.buyers as {{ type_double() }}) / sku_a_buyers.buyers as confidence,
        (cast(pair_buyers.buyers as {{ type_double() }}) / sku_a_buyers.buyers)
        / (cast(sku_b_buyers.buyers as {{ type_double() }}) / buyer_count.buyers) as lift
    from pair_buyers
    cross join buyer_count
    inner join sku_buyers as sku_a_buyers on pair_buyers.sku_a = sku_a_buyers.sku
    inner join sku_buyers as sku_b_buyers on pair_buyers.sku_b = sku_b_buyers.sku
),

cross_sell_scored as (
    select
        baskets.customer_id,
        pair_stats.sku_b as sku,
        pair_stats.sku_a as because_of_sku,
        pair_stats.lift,
        pair_stats.support,
        pair_stats.confidence,
        row_number() over (
            partition by baskets.customer_id, pair_stats.sku_b
            order by pair_stats.lift desc, pair_stats.confidence desc, pair_stats.sku_a asc
        ) as evidence_order
    from baskets
    inner join pair_stats on baskets.sku = pair_stats.sku_a
),

cross_sell as (
    select
        cross_sell_scored.customer_id,
        cross_sell_scored.sku,
        cross_sell_scored.because_of_sku,
        cross_sell_scored.lift,
        cross_sell_scored.support,
        cross_sell_scored.confidence
    from cross_sell_scored
    inner join available_products on cross_sell_scored.sku = available_products.sku
    left join baskets
        on cross_sell_scored.customer_id = baskets.customer_id
        and cross_sell_scored.sku = baskets.sku
    where cross_sell_scored.evidence_order = 1
        and baskets.sku is null
),

top_bought_per_category as (
    select
        baskets.customer_id,
        baskets.sku,
        products.category,
        products.price,
        row_number() over (
            partition by baskets.customer_id, products.category
            order by products.price desc, baskets.sku asc
        ) as price_order
    from baskets
    inner join products on baskets.sku = products.sku
),

upsell_candidates as (
    select
        top_bought_per_category.customer_id,
        available_products.sku,
        top_bought_per_category.sku as because_of_sku,
        row_number() over (
            partition by top_bought_per_category.customer_id, top_bought_per_category.category
            order by available_products.price, available_products.sku
        ) as price_order
    from top_bought_per_category
    inner join available_products
        on top_bought_per_category.category = available_products.category
        and top_bought_per_category.price < available_products.price
    where top_bought_per_category.price_order = 1
),

upsell as (
    select
        upsell_candidates.customer_id,
        upsell_candidates.sku,
        upsell_candidates.because_of_sku
    from upsell_candidates
    left join cross_sell
        on upsell_candidates.customer_id = cross_sell.customer_id
        and upsell_candidates.sku = cross_sell.sku
    where upsell_candidates.price_order = 1
        and cross_sell.sku is null
),

browse_interest as (
    select
        signals.customer_id,
        signals.sku,
        sum(signals.signal_count * signal_weights.weight) as browse_score
    from signals
    inner join signal_weights on signals.signal = signal_weights.signal
    inner join available_products on signals.sku = available_products.sku
    left join baskets
        on signals.customer_id = baskets.customer_id
        and signals.sku = baskets.sku
    where baskets.sku is null
    group by signals.customer_id, signals.sku
),

candidate_keys as (
    select customer_id, sku from cross_sell
    union
    select customer_id, sku from upsell
    union
    select customer_id, sku from browse_interest
),

candidates as (
    select
        candidate_keys.customer_id,
        candidate_keys.sku,
        case
            when cross_sell.sku is not null then 'cross_sell'
            when upsell.sku is not null then 'upsell'
            else 'browsed'
        end as kind,
        coalesce(cross_sell.because_of_sku, upsell.because_of_sku) as because_of_sku,
        cross_sell.lift,
        cross_sell.support,
        cross_sell.confidence,
        browse_interest.browse_score,
        case
            when cross_sell.sku is not null then cross_sell.lift
            when upsell.sku is not null then 1
            else 0
        end + coalesce(browse_interest.browse_score, 0) as score
    from candidate_keys
    left join cross_sell
        on candidate_keys.customer_id = cross_sell.customer_id
        and candidate_keys.sku = cross_sell.sku
    left join upsell
        on candidate_keys.customer_id = upsell.customer_id
        and candidate_keys.sku = upsell.sku
    left join browse_interest
        on candidate_keys.customer_id = browse_interest.customer_id
        and candidate_keys.sku = browse_interest.sku
),

ranked as (
    select
        *,
        row_number() over (partition by customer_id order by score desc, kind asc, sku asc) as recommendation_rank
    from candidates
),

final as (
    select
        cast(ranked.customer_id as text) as customer_id,
        cast(ranked.recommendation_rank as integer) as rank,
        cast(ranked.sku as text) as sku,
        cast(products.product_title as text) as product_title,
        cast(products.category as text) as category,
        cast(ranked.kind as text) as kind,
        cast(ranked.score as {{ type_double() }}) as score,
        cast(ranked.support as {{ type_double() }}) as support,
        cast(ranked.confidence as {{ type_double() }}) as confidence,
        cast(ranked.lift as {{ type_double() }}) as lift,
        cast(ranked.browse_score as {{ type_double() }}) as browse_score,
        cast(ranked.because_of_sku as text) as because_of_sku
    from ranked
    inner join products on ranked.sku = products.sku
    where ranked.recommendation_rank <= {{ var('recommendations_top_n') | int }}
)

select * from final

{#- One row per (customer, recommended sku), at most var recommendations_top_n per customer.
    Candidates, each from its own evidence:
    - cross_sell: co-purchase affinity over customers' baskets (every sku a customer bought in a valid order):
      support(A,B) = share of buyers who bought both, confidence(A->B) = P(B | A), lift = confidence / P(B).
      A customer's candidates are the skus B they have not bought, with the best lift over the skus A they did
      buy (pairs bought together by at least var recommendations_min_pair_customers customers, and for each A
      its var recommendations_partners_per_sku partners of highest lift); because_of_sku = A.
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

-- Each bought sku brings its strongest partners only: scoring every partner of every bought sku for every
-- customer grows with customers x basket size x partners (5 million rows per 10,000 customers in the bench)
-- to keep top-N of them.
top_partners as (
    select * from (
        select
            *,
            row_number() over (
                partition by sku_a
                order by lift desc, confidence desc, sku_b asc
            ) as partner_order
        from pair_stats
    ) as ranked_partners
    where partner_order <= {{ var('recommendations_partners_per_sku') | int }}
),

-- A customer's evidence for a partner b is the bought sku a whose pair has the highest lift, then confidence, then
-- the first sku a. That order is the catalogue's, not the customer's: each pair is ranked once among the pairs of
-- its b, and a customer's evidence is the pair of lowest rank among their bought skus (a min over integers, where
-- ordering each customer's ~20 pairs per partner was the model's costliest step at a million customers).
ranked_partners as (
    select
        *,
        row_number() over (
            partition by sku_b
            order by lift desc, confidence desc, sku_a asc
        ) as evidence_rank
    from top_partners
),

cross_sell_evidence as (
    select
        baskets.customer_id,
        ranked_partners.sku_b as sku,
        min(ranked_partners.evidence_rank) as evidence_rank
    from baskets
    inner join ranked_partners on baskets.sku = ranked_partners.sku_a
    group by baskets.customer_id, ranked_partners.sku_b
),

cross_sell as (
    select
        cross_sell_evidence.customer_id,
        cross_sell_evidence.sku,
        ranked_partners.sku_a as because_of_sku,
        ranked_partners.lift,
        ranked_partners.support,
        ranked_partners.confidence
    from cross_sell_evidence
    inner join ranked_partners
        on cross_sell_evidence.sku = ranked_partners.sku_b
        and cross_sell_evidence.evidence_rank = ranked_partners.evidence_rank
    inner join available_products on cross_sell_evidence.sku = available_products.sku
    left join baskets
        on cross_sell_evidence.customer_id = baskets.customer_id
        and cross_sell_evidence.sku = baskets.sku
    where baskets.sku is null
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

-- The next step up from each product, computed once per catalogue rather than once per customer: the cheapest
-- available product of its category priced above it.
upsell_ladder as (
    select
        anchors.sku as anchor_sku,
        targets.sku,
        row_number() over (partition by anchors.sku order by targets.price, targets.sku) as price_order
    from products as anchors
    inner join available_products as targets
        on anchors.category = targets.category
        and anchors.price < targets.price
),

upsell_candidates as (
    select
        top_bought_per_category.customer_id,
        upsell_ladder.sku,
        top_bought_per_category.sku as because_of_sku
    from top_bought_per_category
    inner join upsell_ladder
        on top_bought_per_category.sku = upsell_ladder.anchor_sku
        and upsell_ladder.price_order = 1
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
    where cross_sell.sku is null
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
    select
        customer_id,
        sku
    from cross_sell
    union
    select
        customer_id,
        sku
    from upsell
    union
    select
        customer_id,
        sku
    from browse_interest
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

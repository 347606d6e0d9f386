{#- One row per (customer, recommended sku), at most var recommendations_top_n per customer.
    Co-purchase affinity over customers' baskets (every sku a customer bought in a valid order):
    support(A,B) = share of buyers who bought both, confidence(A->B) = P(B | A), lift = confidence / P(B).
    A customer's cross-sell candidates are the skus B they have not bought, scored by the best lift over the
    skus A they did buy (pairs bought together by at least var recommendations_min_pair_customers customers).
    Upsell: the cheapest active product of the same category priced above the most expensive product the
    customer bought in it. Ranked by score (lift; upsells without co-purchase evidence score 1 = neutral). -#}
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

not_bought_cross_sell as (
    select
        cross_sell_scored.customer_id,
        cross_sell_scored.sku,
        'cross_sell' as kind,
        cross_sell_scored.lift as score,
        cross_sell_scored.support,
        cross_sell_scored.confidence
    from cross_sell_scored
    inner join products on cross_sell_scored.sku = products.sku
    left join baskets
        on cross_sell_scored.customer_id = baskets.customer_id
        and cross_sell_scored.sku = baskets.sku
    where cross_sell_scored.evidence_order = 1
        and baskets.sku is null
        and products.status = 'active'
),

top_price_per_category as (
    select
        baskets.customer_id,
        products.category,
        max(products.price) as max_price_bought
    from baskets
    inner join products on baskets.sku = products.sku
    group by baskets.customer_id, products.category
),

upsell_candidates as (
    select
        top_price_per_category.customer_id,
        products.sku,
        row_number() over (
            partition by top_price_per_category.customer_id, top_price_per_category.category
            order by products.price, products.sku
        ) as price_order
    from top_price_per_category
    inner join products
        on top_price_per_category.category = products.category
        and top_price_per_category.max_price_bought < products.price
        and products.status = 'active'
),

upsell as (
    select
        upsell_candidates.customer_id,
        upsell_candidates.sku,
        'upsell' as kind,
        cast(1 as {{ type_double() }}) as score,
        cast(null as {{ type_double() }}) as support,
        cast(null as {{ type_double() }}) as confidence
    from upsell_candidates
    left join not_bought_cross_sell
        on upsell_candidates.customer_id = not_bought_cross_sell.customer_id
        and upsell_candidates.sku = not_bought_cross_sell.sku
    where upsell_candidates.price_order = 1
        and not_bought_cross_sell.sku is null
),

candidates as (
    select * from not_bought_cross_sell
    union all
    select * from upsell
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
        cast(ranked.confidence as {{ type_double() }}) as confidence
    from ranked
    inner join products on ranked.sku = products.sku
    where ranked.recommendation_rank <= {{ var('recommendations_top_n') | int }}
)

select * from final

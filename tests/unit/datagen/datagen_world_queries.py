"""SQL the datagen tests use to check the generated world (DuckDB over the Parquet and NDJSON outputs)."""

from __future__ import annotations

# RFM exactly as DESIGN.md defines it: valid orders, percent-rank scores (ties share the lowest rank), R×F grid.
RFM_SEGMENTS_SQL = """
with valid as (
    select o.customer_id, o.created_at, o.subtotal_price - coalesce(r.refunded, 0) as net
    from read_parquet('{world}/orders.parquet') o
    left join (select order_id, sum(subtotal) as refunded from read_parquet('{world}/refunds.parquet')
               group by order_id) r using (order_id)
    where o.customer_id is not null and not o.test and o.cancelled_at is null
      and o.financial_status not in ('refunded', 'voided')
),
per_customer as (
    select customer_id, date '{as_of}' - max(created_at)::date as recency_days, count(*) as frequency,
           sum(net) as monetary
    from valid group by customer_id
),
ranked as (
    select *,
        percent_rank() over (order by recency_days desc) as r_pr,
        percent_rank() over (order by frequency) as f_pr,
        percent_rank() over (order by monetary) as m_pr
    from per_customer
),
scored as (
    select *,
        case when r_pr >= 0.8 then 5 when r_pr >= 0.6 then 4 when r_pr >= 0.4 then 3 when r_pr >= 0.2 then 2
             else 1 end as r,
        case when f_pr >= 0.8 then 5 when f_pr >= 0.6 then 4 when f_pr >= 0.4 then 3 when f_pr >= 0.2 then 2
             else 1 end as f
    from ranked
)
select case
    when r = 5 and f >= 4 then 'Champions'
    when r in (3, 4) and f >= 4 then 'Loyal Customers'
    when r >= 4 and f in (2, 3) then 'Potential Loyalists'
    when r = 5 and f = 1 then 'New Customers'
    when r = 4 and f = 1 then 'Promising'
    when r = 3 and f = 3 then 'Need Attention'
    when r = 3 and f <= 2 then 'About to Sleep'
    when r <= 2 and f = 5 then 'Can''t Lose Them'
    when r <= 2 and f in (3, 4) then 'At Risk'
    else 'Hibernating' end as segment, count(*) as members
from scored group by all order by 1
"""

# Lift of each complementary pair over the web orders: P(a ∧ b) / (P(a) · P(b)).
PAIR_LIFT_SQL = """
with baskets as (
    select distinct order_id, sku from read_parquet('{world}/order_lines.parquet')
),
n as (select count(distinct order_id)::double as orders from baskets),
item as (select sku, count(*) / (select orders from n) as p from baskets group by sku),
pair as (
    select p.sku_a, p.sku_b, count(*) / (select orders from n) as p_ab, count(*) as together
    from read_parquet('{world}/product_pairs.parquet') p
    join baskets a on a.sku = p.sku_a
    join baskets b on b.sku = p.sku_b and b.order_id = a.order_id
    group by all
)
select pair.sku_a, pair.sku_b, together, p_ab / (ia.p * ib.p) as lift
from pair join item ia on ia.sku = pair.sku_a join item ib on ib.sku = pair.sku_b
"""

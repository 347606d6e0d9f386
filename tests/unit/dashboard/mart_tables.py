"""A small DuckDB warehouse holding the mart and activation tables the dashboard reads (docs/data-contracts.md §3–4).

Figures are deterministic functions of the row position, so tests can recompute what the dashboard should show
straight from these tables. Used by the dashboard unit tests and (until the lead switches it to a real demo
run) by the e2e ``demo_data_dir`` fixture.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

FIRST_DAY = dt.date(2026, 8, 1)
DAYS = 92  # August to October 2026
PAID = ("paid_social", "paid_search")
UNPAID = ("email", "organic_search")

DDL = """
create schema if not exists activation;

create table main.kpi_channel_daily as
with days as (
    select cast(range as date) as date_day, row_number() over (order by range) - 1 as d
    from range(date '{first}', date '{first}' + interval {days} day, interval 1 day)
),
channels as (
    select * from (values
        ('paid_social', 'meta', 'c-101', 'Autumn prospecting', 1),
        ('paid_search', 'google_ads', 'c-201', 'Brand search', 2),
        ('email', null, null, null, 3),
        ('organic_search', null, null, null, 4)
    ) as t(channel, platform, campaign_id, campaign_name, k)
),
base as (
    select
        date_day, channel, platform, campaign_id, campaign_name,
        cast(case when platform is null then 0 else 40 + 3 * k + (d % 7) * 2.5 end as decimal(18, 2)) as spend,
        case when platform is null then 0 else 4000 + 100 * k + d * 10 end as impressions,
        case when platform is null then 0 else 120 + 5 * k + d % 11 end as clicks,
        100 + 10 * k + d % 13 as sessions,
        3 + (d + k) % 5 as orders,
        1 + (d * k) % 3 as new_customers,
        cast(150 + 20 * k + (d % 9) * 12.5 as decimal(18, 2)) as revenue,
        cast((150 + 20 * k + (d % 9) * 12.5) * 0.45 as decimal(18, 2)) as gross_margin
    from days cross join channels
)
select
    *,
    case when spend > 0 then revenue / spend end as roas,
    case when spend > 0 then (gross_margin - spend) / spend end as roi,
    case when clicks > 0 then spend / clicks end as cpc,
    case when impressions > 0 then clicks / impressions end as ctr,
    orders / sessions as conversion_rate,
    case when orders > 0 and spend > 0 then spend / orders end as cpa,
    case when new_customers > 0 and spend > 0 then spend / new_customers end as cac,
    revenue / orders as aov
from base;

create table main.budget_vs_actual as
with actual as (
    select cast(date_trunc('month', date_day) as date) as month, channel,
           sum(spend) as actual_spend, sum(sessions) as actual_sessions,
           sum(orders) as actual_orders, sum(revenue) as actual_revenue
    from main.kpi_channel_daily where channel in ('paid_social', 'paid_search') group by all
),
plan as (
    select *,
        cast(case channel when 'paid_social' then 1600 else 1300 end
             * case month(month) when 9 then 1.5 else 1 end as decimal(18, 2)) as planned_spend,
        cast(3000 as bigint) as planned_sessions, cast(120 as bigint) as planned_orders,
        cast(6000 as decimal(18, 2)) as planned_revenue
    from actual
)
select
    month, channel, planned_spend, actual_spend,
    actual_spend - planned_spend as spend_variance,
    (actual_spend - planned_spend) / planned_spend as spend_variance_pct,
    planned_sessions, actual_sessions, planned_orders, actual_orders, planned_revenue, actual_revenue,
    actual_revenue - planned_revenue as revenue_variance,
    (actual_revenue - planned_revenue) / planned_revenue as revenue_variance_pct,
    planned_revenue / planned_spend as planned_roas,
    actual_revenue / actual_spend as actual_roas
from plan;

create table main.kpi_funnel as
select
    cast(date_trunc('month', date_day) as date) as month, channel,
    sum(clicks) as ad_interactions, sum(sessions) as site_visits, sum(new_customers) as first_purchases,
    case when sum(clicks) > 0 then sum(sessions) / sum(clicks) end as visit_rate,
    sum(new_customers) / sum(sessions) as purchase_rate,
    case when sum(clicks) > 0 then sum(new_customers) / sum(clicks) end as overall_rate
from main.kpi_channel_daily group by all;

create table main.customer_rfm as
with customers as (select range + 1 as customer_id from range(40)),
segments as (
    select * from (values
        (0, 'Champions', 5, 5), (1, 'Loyal Customers', 4, 4), (2, 'Potential Loyalists', 4, 2),
        (3, 'At Risk', 2, 3), (4, 'Hibernating', 1, 1)
    ) as t(s, rfm_segment, r_score, f_score)
)
select
    customer_id,
    timestamp '2025-01-01 10:00:00' + to_days(cast(customer_id as integer)) as first_order_at,
    timestamp '2026-10-01 10:00:00' - to_days(cast(customer_id * 3 as integer)) as last_order_at,
    cast(customer_id * 3 as integer) as recency_days,
    cast(1 + customer_id % 6 as integer) as frequency,
    cast(50 + customer_id * 7.5 as decimal(18, 2)) as monetary,
    cast((50 + customer_id * 7.5) / (1 + customer_id % 6) as decimal(18, 2)) as avg_order_value,
    r_score, f_score, cast(1 + customer_id % 5 as integer) as m_score,
    cast(r_score as varchar) || cast(f_score as varchar) || cast(1 + customer_id % 5 as varchar) as rfm_score,
    rfm_segment
from customers join segments on segments.s = customer_id % 5;

create table main.customer_recommendations as
with products as (
    select * from (values
        ('SKU-001', 'Trail running shoe', 'shoes', 'cross_sell'),
        ('SKU-002', 'Merino running socks', 'apparel', 'cross_sell'),
        ('SKU-003', 'Hydration vest', 'gear', 'cross_sell'),
        ('SKU-004', 'Carbon race shoe', 'shoes', 'upsell'),
        ('SKU-005', 'GPS watch', 'electronics', 'upsell')
    ) as t(sku, product_title, category, kind)
)
select
    c.customer_id, cast(row_number() over (partition by c.customer_id order by p.sku) as integer) as rank,
    p.sku, p.product_title, p.category, p.kind,
    1.5 + (c.customer_id % 4) * 0.25 as score, 0.02 as support, 0.3 + (c.customer_id % 3) * 0.1 as confidence
from main.customer_rfm as c join products as p on (c.customer_id + ascii(right(p.sku, 1))) % 3 <> 0;

create table main.marketplace_listing_feed as
with skus as (select 'SKU-' || lpad(cast(range + 1 as varchar), 3, '0') as sku, range as i from range(12)),
markets as (select * from (values ('ebay'), ('amazon'), ('shop')) as t(marketplace))
select
    sku, marketplace, marketplace || '-' || sku as listing_id,
    cast(case when i % 4 = 0 then 0 else 5 + i end as integer) as quantity,
    cast(19.99 + i as decimal(18, 2)) as price, 'EUR' as currency,
    case when i % 4 = 0 then 'withdrawn' else 'active' end as status,
    case when i % 4 = 0 then 'available quantity 0 at or below end-when buffer 2' else 'in stock' end as status_reason,
    cast(5 + i as integer) as available_quantity, cast(7 + i as integer) as on_hand,
    cast(2 as integer) as open_order_quantity, cast(19.99 + i as decimal(18, 2)) as base_price
from skus cross join markets;

create table main.marketplace_listing_content as
select
    'SKU-' || lpad(cast(range + 1 as varchar), 3, '0') as sku, marketplace,
    case when range < 2 and marketplace = 'amazon' then 'missing gtin' end as missing_reason
from range(4) cross join (values ('ebay'), ('amazon')) as t(marketplace);

create table activation.sync_runs as
select * from (values
    ('r-1', 'ebay_listings', timestamp '2026-10-30 10:00:00', timestamp '2026-10-30 10:00:12', false, 'success',
     30, 4, 2, 36, 34, 2, 0, 2, 12.0, null),
    ('r-2', 'ebay_listings', timestamp '2026-10-31 10:00:00', timestamp '2026-10-31 10:00:05', false, 'success',
     0, 3, 1, 4, 4, 0, 32, 1, 5.0, null),
    ('r-3', 'meta_audience_champions', timestamp '2026-10-31 06:00:00', timestamp '2026-10-31 06:01:00', false,
     'failed', 120, 0, 10, 130, 100, 30, 0, 3, 60.0, 'rejected share 23.1% above 5.0% for ops@example.com'),
    ('r-4', 'amazon_listings', timestamp '2026-10-31 10:05:00', timestamp '2026-10-31 10:05:09', true, 'success',
     36, 0, 0, 0, 0, 0, 0, 0, 9.0, null)
) as t(run_id, sync_id, started_at, finished_at, dry_run, status, planned_adds, planned_changes, planned_removes,
       sent, accepted, rejected, skipped, api_calls, duration_seconds, error);

create table activation.sync_state as
select
    'ebay_listings' as sync_id, sku as record_key, md5(sku) as payload_hash, '{{}}' as payload,
    timestamp '2026-10-31 10:00:05' - to_minutes(cast(i as integer)) as confirmed_at
from (select 'SKU-' || lpad(cast(range + 1 as varchar), 3, '0') as sku, range as i from range(9))
union all
-- a listing created later by the listing-creation sync: not a stock push
select 'listings_ebay', 'SKU-001', md5('SKU-001'), '{{}}', timestamp '2026-10-31 12:00:00';

create table activation.sync_rejections as
select * from (values
    ('r-3', 'meta_audience_champions', 'cust-1', 'add', 'Invalid email hash for jane.doe@example.com', 'h1',
     timestamp '2026-10-31 06:00:30', cast(null as timestamp)),
    ('r-3', 'meta_audience_champions', 'cust-2', 'add', 'Invalid email hash for j.roe@example.org', 'h2',
     timestamp '2026-10-31 06:00:31', cast(null as timestamp)),
    ('r-1', 'ebay_listings', 'SKU-004', 'change', 'Price below minimum', 'h3',
     timestamp '2026-10-30 10:00:10', timestamp '2026-10-31 10:00:05'),
    ('r-5', 'listings_amazon', 'SKU-003', 'add',
     'refused to send, product type schema: $.attributes.brand: ''brand'' is a required property', 'h4',
     timestamp '2026-10-31 11:00:00', cast(null as timestamp))
) as t(run_id, sync_id, record_key, operation, reason, payload_hash, rejected_at, resolved_at);

create table main.marketplace_sales_daily as
with days as (
    select cast(range as date) as sales_date, row_number() over (order by range) - 1 as d
    from range(date '{first}', date '{first}' + interval {days} day, interval 1 day)
),
markets as (select * from (values ('ebay', 0.12), ('amazon', 0.15), ('shop', 0.0)) as t(marketplace, fee_rate))
select
    sales_date, marketplace, 'SKU-00' || cast(1 + d % 3 as varchar) as sku,
    cast(1 + d % 4 as integer) as units, cast(0 as integer) as returned_units, 'EUR' as reporting_currency,
    cast(20 * (1 + d % 4) as decimal(18, 2)) as net_revenue_reporting,
    cast(20 * (1 + d % 4) * fee_rate as decimal(18, 2)) as fee_amount_reporting,
    cast(8 * (1 + d % 4) as decimal(18, 2)) as cost_of_goods_reporting,
    cast(20 * (1 + d % 4) * (1 - fee_rate) - 8 * (1 + d % 4) as decimal(18, 2)) as margin_reporting,
    cast(40 as integer) as on_hand, cast(2.5 as decimal(18, 4)) as avg_daily_units_28d,
    cast(16 as decimal(18, 1)) as stock_cover_days
from days cross join markets;

create table main.audience_uplift as
select
    sync_id, destination, audience_id, date_trunc('month', date '{first}' + interval {days} day - interval 1 day)
        as period_start, 'EUR' as currency, cast(treated as bigint) as treated_members,
    cast(held as bigint) as holdout_members, cast(treated * 0.1 as bigint) as treated_conversions,
    cast(held * 0.06 as bigint) as holdout_conversions, 30.0 as avg_observed_days, 0.1 as treated_conversion_rate,
    0.06 as holdout_conversion_rate, 0.04 as conversion_uplift, 0.01 as conversion_uplift_ci_low,
    0.07 as conversion_uplift_ci_high, 6.0 as treated_revenue_per_member, 6.0 - uplift as holdout_revenue_per_member,
    uplift as revenue_per_member_uplift, uplift - 1.5 as revenue_per_member_uplift_ci_low,
    uplift + 1.5 as revenue_per_member_uplift_ci_high, uplift * treated as incremental_revenue,
    (uplift - 1.5) * treated as incremental_revenue_ci_low, (uplift + 1.5) * treated as incremental_revenue_ci_high,
    treated < 30 as too_small_to_conclude, treated >= 30 and uplift - 1.5 > 0 as is_significant
from (values ('rfm_at_risk_klaviyo', 'klaviyo', 'rfm_at_risk', 900, 100, 2.5),
             ('cross_sell_meta', 'meta_audiences', 'cross_sell_kitchen', 450, 50, 0.4)) as t(sync_id, destination,
      audience_id, treated, held, uplift);

create table main.best_products as
select * from (values
    (1, 'SKU-001', 30, 250.00, 40, 6.25, 2.10, 0.9),
    (2, 'SKU-002', 25, 180.00, 60, 3.00, 1.50, 0.5)
) as t(best_rank, sku, units_90d, margin_90d, on_hand, margin_per_stock_unit, margin_per_ad_spend, score);

create table main.discount_redemptions as
with days as (
    select cast(range as date) as activity_date, row_number() over (order by range) - 1 as d
    from range(date '{first}', date '{first}' + interval {days} day, interval 1 day)
)
select
    campaign, code_kind, activity_date,
    case when code_kind = 'unique' then 4 + d % 3 else 0 end as codes_issued,
    case when code_kind = 'unique' then 1 + d % 2 else 0 end as issued_codes_redeemed,
    cast(case when code_kind = 'unique' then (1 + d % 2) / (4 + d % 3) end as decimal(9, 4)) as redemption_rate,
    1 as codes_redeemed, 1 + d % 2 as recovered_orders,
    cast(35 * (1 + d % 2) as decimal(18, 2)) as recovered_revenue_reporting, 'EUR' as reporting_currency,
    0 as orders_without_fx_rate
from days cross join (values ('abandoned_cart', 'unique'), ('rfm_at_risk', 'shared')) as t(campaign, code_kind);

create table main.kpi_campaign_type_daily as
with days as (
    select cast(range as date) as date_day, row_number() over (order by range) - 1 as d
    from range(date '{first}', date '{first}' + interval {days} day, interval 1 day)
)
select
    date_day, platform, channel, campaign_type, campaign_type = 'unclassified' as is_unclassified,
    campaign_type = 'remarketing' as is_remarketing, 1 as campaigns, cast(20 + d % 5 as decimal(18, 2)) as spend,
    2 + 2 * (d % 2) as leads, 1 + d % 2 as sign_ups, 1 as generated_leads, d % 2 as newsletter_signups,
    2 as orders, 1 as new_customer_orders, 1 as returning_customer_orders,
    cast(30 as decimal(18, 2)) as new_customer_revenue, cast(45 as decimal(18, 2)) as returning_customer_revenue,
    cast(75 as decimal(18, 2)) as revenue, 'EUR' as currency
from days cross join (values ('meta', 'paid_social', 'prospecting'), ('meta', 'paid_social', 'remarketing'),
                             ('google_ads', 'paid_search', 'unclassified')) as t(platform, channel, campaign_type);

create table main.leads_daily as
with days as (
    select cast(range as date) as date_day from range(date '{first}', date '{first}' + interval {days} day, interval 1 day)
)
select date_day, channel, platform, lead_type, 3 as leads
from days cross join (values ('paid_social', 'meta', 'sign_up'), ('email', 'web', 'newsletter_signup'))
    as t(channel, platform, lead_type);

create table main.affiliate_performance as
with days as (
    select cast(range as date) as date_day, row_number() over (order by range) - 1 as d
    from range(date '{first}', date '{first}' + interval {days} day, interval 1 day)
)
select
    partner_type, partner_id, referrer_customer_id, date_day, 4 + d % 3 as sessions, 1 + d % 2 as orders,
    d % 2 as new_customers, cast(60 + 10 * (d % 4) as decimal(18, 2)) as revenue,
    cast(6 as decimal(18, 2)) as commission, 'EUR' as currency
from days cross join (values ('affiliate_partner', 'awin', cast(null as varchar)),
                             ('customer_referral', 'customer:7', '7')) as t(partner_type, partner_id, referrer_customer_id);
"""


def build_mart_warehouse(path: Path) -> Path:
    """Write the warehouse file at ``path`` (parents created) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute(DDL.format(first=FIRST_DAY.isoformat(), days=DAYS))
    finally:
        con.close()
    return path

{#- One row per (campaign, code_kind, activity_date): what the discount codes of a campaign did that day.
    code_kind 'unique': the codes Narrowcast issued one per customer (stg_activation__discount_codes, campaign =
    the audience or journey that issued them); 'shared': the seed audiences' discount_code of each audience, one
    code for everyone (a code both issued and in the seed counts as issued; a shared code named by several audiences
    belongs to the first by audience_id).
    An order redeems a code when the code is among the order's discount codes (Shopify orders' discountCodes,
    matched trimmed and case-insensitively as Shopify does) and the order is valid (int_orders.is_valid).
    codes_issued / issued_codes_redeemed / redemption_rate describe the codes issued that day (the day's cohort,
    redeemed by any order up to now); codes_redeemed / recovered_orders / recovered_revenue_reporting describe the
    orders placed that day. An order carrying codes of both kinds counts in both rows; an order's revenue counts
    once per row however many of the campaign's codes it carries; revenue without an FX rate is held out and
    counted in orders_without_fx_rate. -#}
with

issued_codes as (
    select * from {{ ref('stg_activation__discount_codes') }}
),

audience_definitions as (
    select * from {{ ref('audiences') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

-- A Shopify checkout combines at most five product or order discount codes and one shipping code (Shopify Help
-- Center, "Combining discounts"); eight positions leave room.
code_positions as (
    select positions.n
    from (values (1), (2), (3), (4), (5), (6), (7), (8)) as positions (n)
),

shared_codes as (
    select
        upper(trim(discount_code)) as code_match,
        min(audience_id) as campaign
    from audience_definitions
    where discount_code is not null and trim(discount_code) <> ''
    group by upper(trim(discount_code))
),

campaign_codes as (
    select
        code_match,
        campaign,
        'unique' as code_kind
    from issued_codes
    union all
    select
        shared_codes.code_match,
        shared_codes.campaign,
        'shared' as code_kind
    from shared_codes
    left join issued_codes on shared_codes.code_match = issued_codes.code_match
    where issued_codes.code_match is null
),

order_codes as (
    select distinct
        orders.order_key,
        orders.order_date,
        orders.net_revenue_reporting,
        orders.has_fx_rate,
        upper(trim(split_part(orders.discount_codes, ',', code_positions.n))) as code_match
    from orders
    cross join code_positions
    where orders.is_valid
        and orders.discount_codes is not null
        and trim(split_part(orders.discount_codes, ',', code_positions.n)) <> ''
),

redemptions as (
    select
        campaign_codes.campaign,
        campaign_codes.code_kind,
        campaign_codes.code_match,
        order_codes.order_key,
        order_codes.order_date,
        order_codes.net_revenue_reporting,
        order_codes.has_fx_rate
    from order_codes
    inner join campaign_codes on order_codes.code_match = campaign_codes.code_match
),

redeemed_daily as (
    select
        campaign,
        code_kind,
        order_date as activity_date,
        count(distinct code_match) as codes_redeemed,
        count(distinct order_key) as recovered_orders
    from redemptions
    group by campaign, code_kind, order_date
),

recovered_orders as (
    select distinct
        campaign,
        code_kind,
        order_key,
        order_date,
        net_revenue_reporting,
        has_fx_rate
    from redemptions
),

revenue_daily as (
    select
        campaign,
        code_kind,
        order_date as activity_date,
        sum(case when has_fx_rate then net_revenue_reporting end) as recovered_revenue_reporting,
        sum(case when has_fx_rate then 0 else 1 end) as orders_without_fx_rate
    from recovered_orders
    group by campaign, code_kind, order_date
),

redeemed_codes as (
    select distinct code_match
    from redemptions
    where code_kind = 'unique'
),

issued_daily as (
    select
        issued_codes.campaign,
        'unique' as code_kind,
        cast(issued_codes.issued_at as date) as activity_date,
        count(*) as codes_issued,
        count(redeemed_codes.code_match) as issued_codes_redeemed
    from issued_codes
    left join redeemed_codes on issued_codes.code_match = redeemed_codes.code_match
    group by issued_codes.campaign, cast(issued_codes.issued_at as date)
),

campaign_days as (
    select
        campaign,
        code_kind,
        activity_date
    from issued_daily
    union
    select
        campaign,
        code_kind,
        activity_date
    from redeemed_daily
),

final as (
    select
        cast(campaign_days.campaign as {{ dbt.type_string() }}) as campaign,
        cast(campaign_days.code_kind as {{ dbt.type_string() }}) as code_kind,
        cast(campaign_days.activity_date as date) as activity_date,
        cast(coalesce(issued_daily.codes_issued, 0) as bigint) as codes_issued,
        cast(coalesce(issued_daily.issued_codes_redeemed, 0) as bigint) as issued_codes_redeemed,
        cast(
            case
                when issued_daily.codes_issued > 0
                    then cast(issued_daily.issued_codes_redeemed as decimal(18, 4)) / issued_daily.codes_issued
            end as decimal(9, 4)
        ) as redemption_rate,
        cast(coalesce(redeemed_daily.codes_redeemed, 0) as bigint) as codes_redeemed,
        cast(coalesce(redeemed_daily.recovered_orders, 0) as bigint) as recovered_orders,
        cast(coalesce(revenue_daily.recovered_revenue_reporting, 0) as decimal(18, 2)) as recovered_revenue_reporting,
        {{ reporting_currency() }} as reporting_currency,
        cast(coalesce(revenue_daily.orders_without_fx_rate, 0) as bigint) as orders_without_fx_rate
    from campaign_days
    left join issued_daily
        on campaign_days.campaign = issued_daily.campaign
        and campaign_days.code_kind = issued_daily.code_kind
        and campaign_days.activity_date = issued_daily.activity_date
    left join redeemed_daily
        on campaign_days.campaign = redeemed_daily.campaign
        and campaign_days.code_kind = redeemed_daily.code_kind
        and campaign_days.activity_date = redeemed_daily.activity_date
    left join revenue_daily
        on campaign_days.campaign = revenue_daily.campaign
        and campaign_days.code_kind = revenue_daily.code_kind
        and campaign_days.activity_date = revenue_daily.activity_date
)

select * from final

{#- One row per valid order of a third-party marketplace (seed marketplaces, is_own_shop = false): net revenue,
    the marketplace's fees (int_marketplace_fees) and the cost of goods, margin = net revenue - fees - cost of
    goods. Money in the reporting currency (the order's net revenue and gross margin from int_orders, fees at
    their posting date's rate); net_revenue and fee_amount also in the order's currency when the fees were
    charged in it. Net of refunds: what the marketplace paid back to the buyer (int_marketplace_returns) comes
    off net revenue and margin, and the returned units' cost of goods comes back. margin_reporting is null where
    int_orders has no gross margin (a line without ERP cost, a missing rate) or a fee or a refund has no rate.
    has_fees is false while the marketplace has posted no fee yet: such an order's margin is before fees. -#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

fees as (
    select * from {{ ref('int_marketplace_fees') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

marketplace_returns as (
    select * from {{ ref('int_marketplace_returns') }}
),

order_refunds as (
    select
        order_key,
        max(currency) as refund_currency,
        count(distinct currency) as refund_currencies,
        sum(refunded_amount) as refunded_amount,
        case
            when count(*) = count(refunded_amount_reporting) then sum(refunded_amount_reporting)
        end as refunded_amount_reporting,
        case
            when count(*) = count(returned_cost_of_goods_reporting) then sum(returned_cost_of_goods_reporting)
        end as returned_cost_reporting
    from marketplace_returns
    group by order_key
),

order_fees as (
    select
        order_key,
        max(currency) as fee_currency,
        count(distinct currency) as fee_currencies,
        sum(fee_amount) as fee_amount,
        case when count(*) = count(fee_amount_reporting) then sum(fee_amount_reporting) end as fee_amount_reporting
    from fees
    group by order_key
),

marketplace_orders as (
    select orders.*
    from orders
    inner join marketplaces on orders.order_source = marketplaces.marketplace
    where not marketplaces.is_own_shop and orders.is_valid
),

-- An order without refunds has refunds of 0; one with a refund lacking a rate or a cost has them unknown.
refunds as (
    select
        marketplace_orders.order_key,
        case
            when order_refunds.order_key is null then 0
            when order_refunds.refund_currencies = 1
                and upper(order_refunds.refund_currency) = upper(marketplace_orders.currency)
                then order_refunds.refunded_amount
        end as refunded_amount,
        case when order_refunds.order_key is null then 0 else order_refunds.refunded_amount_reporting end
            as refunded_amount_reporting,
        case when order_refunds.order_key is null then 0 else order_refunds.returned_cost_reporting end
            as returned_cost_reporting
    from marketplace_orders
    left join order_refunds on marketplace_orders.order_key = order_refunds.order_key
),

final as (
    select
        marketplace_orders.order_key,
        marketplace_orders.order_source as marketplace,
        marketplace_orders.order_date,
        marketplace_orders.currency,
        cast(marketplace_orders.net_revenue - refunds.refunded_amount as decimal(18, 2)) as net_revenue,
        cast(
            case
                when order_fees.order_key is null then 0
                when order_fees.fee_currencies = 1
                    and upper(order_fees.fee_currency) = upper(marketplace_orders.currency)
                    then order_fees.fee_amount
            end as decimal(18, 2)
        ) as fee_amount,
        marketplace_orders.reporting_currency,
        cast(marketplace_orders.net_revenue_reporting - refunds.refunded_amount_reporting as decimal(18, 2))
            as net_revenue_reporting,
        cast(
            coalesce(order_fees.fee_amount_reporting, case when order_fees.order_key is null then 0 end)
            as decimal(18, 2)
        ) as fee_amount_reporting,
        cast(
            marketplace_orders.net_revenue_reporting - marketplace_orders.gross_margin_reporting
            - refunds.returned_cost_reporting
            as decimal(18, 2)
        ) as cost_of_goods_reporting,
        cast(
            marketplace_orders.gross_margin_reporting
            - coalesce(order_fees.fee_amount_reporting, case when order_fees.order_key is null then 0 end)
            - refunds.refunded_amount_reporting + refunds.returned_cost_reporting
            as decimal(18, 2)
        ) as margin_reporting,
        order_fees.order_key is not null as has_fees,
        cast(refunds.refunded_amount_reporting as decimal(18, 2)) as refunded_amount_reporting
    from marketplace_orders
    left join order_fees on marketplace_orders.order_key = order_fees.order_key
    inner join refunds on marketplace_orders.order_key = refunds.order_key
)

select * from final

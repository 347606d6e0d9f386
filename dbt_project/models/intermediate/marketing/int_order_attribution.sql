{#- One row per valid order: the session credited with it and that session's channel.
    Orders of a third-party marketplace (seed marketplaces: not is_own_shop) are credited to the marketplace's
    channel and platform. Own-shop orders (shop and imported) take the session int_order_session_credits chose
    (incremental: the costly search among the buyer's sessions runs for new and recent orders only). Orders
    without any session are credited to the direct channel (seed channels: is_direct); the platform is the ad
    platform of the session's traffic, else the own site (var own_site_platform).
    Incremental (unique_key order_key, delete+insert): int_orders and int_order_session_credits stamp the rows a
    run wrote (built_at, macro build_stamp). A run re-derives
    - every order int_orders wrote since this model's newest built_at (new, refunded, cancelled, re-costed,
      re-converted, moved to another customer: is_valid, revenue and customer come with the row), and every valid
      order of their customers, whose is_first_order may change with them (int_orders rewrites every order of a
      customer an order left, so that customer is among them);
    - every order whose credit int_order_session_credits wrote since, keeping its is_first_order as built.
    The post-hook (macro delete_orders_not_kept) deletes the orders int_orders wrote since as invalid and those
    that vanished from it. A change of the seeds channels, marketplaces, ad_platforms or
    ad_platform_sources, or of var own_site_platform or attribution_model, needs --full-refresh. -#}
{%- set built_since = newest_built_value('built_at') %}
{%- set changed_only = built_since is not none %}
{%- set since = timestamp_literal(built_since) if changed_only else none %}
{#- int_orders and the credits are read where they are used, not through an import CTE: a CTE read twice is
    materialised whole first, and the filters below would no longer reach the scans. -#}
with

ad_platform_traffic as (
    select * from {{ ref('int_ad_platform_traffic_sources') }}
),

channels as (
    select * from {{ ref('channels') }}
),
{% if changed_only %}

built as (
    select * from {{ this }}
),

changed_orders as (
    select
        order_key,
        customer_id
    from {{ ref('int_orders') }}
    where built_at > {{ since }}
),

-- Customers whose set of valid orders may have changed. The customer an order left is among them: int_orders
-- rewrites every order of a customer whose buyer keys changed or who held a changed or vanished order.
affected_customers as (
    select distinct customer_id
    from changed_orders
    where customer_id is not null
),

recredited_orders as (
    select order_key
    from {{ ref('int_order_session_credits') }}
    where built_at > {{ since }}
),
{% endif %}

-- The orders re-derived with their is_first_order: every valid order of the customers in scope (all of them, so
-- the window below sees each customer's orders whole) and the changed orders without a customer.
rederived_orders as (
    select
        order_key,
        customer_id,
        ordered_at,
        order_date,
        is_own_shop,
        order_source,
        source_channel,
        currency,
        net_revenue,
        gross_margin,
        net_revenue_reporting,
        gross_margin_reporting,
        customer_id is not null and row_number() over (
            partition by customer_id order by ordered_at, order_key
        ) = 1 as is_first_order
    from {{ ref('int_orders') }}
    where is_valid
    {%- if changed_only %}
        and (
            customer_id in (select customer_id from affected_customers)
            or order_key in (select order_key from changed_orders)
        )
    {%- endif %}
),

scoped_orders as (
    select * from rederived_orders
    {%- if changed_only %}
        union all
        select
            orders.order_key,
            orders.customer_id,
            orders.ordered_at,
            orders.order_date,
            orders.is_own_shop,
            orders.order_source,
            orders.source_channel,
            orders.currency,
            orders.net_revenue,
            orders.gross_margin,
            orders.net_revenue_reporting,
            orders.gross_margin_reporting,
            built.is_first_order
        from {{ ref('int_orders') }} as orders
        -- an order here is unchanged since built, so built holds it exactly when it is valid
        inner join built on orders.order_key = built.order_key
        where orders.order_key in (select order_key from recredited_orders)
            and not exists (
                select 1 from rederived_orders
                where rederived_orders.order_key = orders.order_key
            )
    {%- endif %}
),

final as (
    select
        scoped_orders.order_key,
        scoped_orders.customer_id,
        scoped_orders.ordered_at,
        scoped_orders.order_date,
        credits.session_key,
        coalesce(scoped_orders.source_channel, credits.channel, direct_channel.channel) as channel,
        case
            when not scoped_orders.is_own_shop then scoped_orders.order_source
            else coalesce(ad_platform_traffic.platform, '{{ var("own_site_platform") }}')
        end as platform,
        credits.traffic_source,
        credits.traffic_medium,
        credits.traffic_campaign,
        '{{ var("attribution_model") }}' as attribution_model,
        scoped_orders.currency,
        scoped_orders.net_revenue,
        scoped_orders.gross_margin,
        scoped_orders.net_revenue_reporting,
        scoped_orders.gross_margin_reporting,
        scoped_orders.is_first_order,
        {{ build_stamp() }} as built_at
    from scoped_orders
    left join {{ ref('int_order_session_credits') }} as credits on scoped_orders.order_key = credits.order_key
    left join ad_platform_traffic
        on credits.channel = ad_platform_traffic.channel
        and credits.traffic_source = ad_platform_traffic.traffic_source
    -- One row: the test channels_declare_one_direct_channel keeps it so.
    left join channels as direct_channel on direct_channel.is_direct
)

select * from final

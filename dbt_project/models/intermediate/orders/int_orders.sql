{#- One row per order from every channel: shop (Shopify), file import, eBay, Amazon and Etsy.
    Each CTE below reads one staging model and names it in orders_model; the seed marketplaces says which
    marketplace (order_source) those orders belong to, whether that is the own shop and which channel they are
    credited to. A new marketplace is one more CTE here and one more seed row; the test
    marketplaces_cover_every_order fails on orders of a model the seed does not list.
    net_revenue = product revenue after discounts and refunds, before tax and shipping.
    is_valid = not cancelled, not a test, not voided, not fully refunded (the orders RFM and KPIs count).
    Money: the amounts are in the order's currency (Shopify: the shop currency, see stg_shop__orders); each has
    a *_reporting twin in the reporting currency at the order date's rate (macros/fx_conversion.sql), null when
    there is no rate (has_fx_rate false: such an order is held out of money sums and counted in
    fx_conversion_gaps). gross_margin needs the ERP costs' currency (var shop_currency) to be the order's, and
    costs each line at the unit cost valid on the order's date (int_order_lines).
    Incremental (unique_key order_key, delete+insert): loaded_at is the latest load time (_loaded_at) of the
    order's source rows (the order, its lines, its refunds). A run re-derives only the orders (CTE orders_in_scope) with
    - a source row (order, line, refund) loaded after the newest loaded_at built;
    - a buyer whose customer may have changed: every order of a customer (as built, or as identity links say
      now) that holds a buyer key or Shopify customer seen since, or that held the buyer of a changed or
      vanished order (a new key can merge two customers, a changed or vanished one split them);
    - a date on which a rate loaded since holds (the rate's day up to var fx_max_rate_age_days after it);
    - a date on or after the earliest snapshot day of a stock file loaded since (a new version of a file may
      also drop rows, so every sku counts), and every order of a sku whose first cost is that day or later, or
      that has no cost at all (those orders take the earliest known cost). A new version of a stock or fx_rates
      file is taken to cover the days its earlier version did (an ERP file is one day's snapshot): rows it
      drops on days it no longer names are not seen until --full-refresh;
    and every order after the privacy purge erased someone (it blanks columns in place, as int_order_buyers
    handles), or after var reporting_currency changed. Orders of an order file's earlier version that its new
    version drops are deleted by the post-hook. built_at stamps the rows a run wrote (macro build_stamp): the
    models built on int_orders re-derive those. A change outside these (a seed such as marketplaces, a new
    fx_max_rate_age_days or shop_currency) needs --full-refresh. -#}
{%- set newest_loaded_at = newest_built_value('loaded_at') %}
{%- set changed_only = newest_loaded_at is not none and not erased_since(newest_loaded_at) %}
{%- if changed_only and execute %}
    {#- built in another reporting currency (var reporting_currency changed): every order again -#}
    {%- set converted = run_query(
        'select count(*) from ' ~ this ~ ' where reporting_currency <> ' ~ reporting_currency()) %}
    {%- set changed_only = converted.columns[0].values()[0] == 0 %}
{%- endif %}
{%- if changed_only %}
    {%- set since = timestamp_literal(newest_loaded_at) %}
    {%- set changed = 'where loaded_at > ' ~ since %}
    {%- set revised_rates = run_query(
        'select min(rate_date), max(rate_date) from (select rate_date from ' ~ ref('stg_ecb__fx_rates') ~ ' '
        ~ changed ~ ' union all select rate_date from ' ~ ref('stg_files__fx_rates') ~ ' ' ~ changed
        ~ ') as revised') if execute else none %}
    {%- set rates_from = revised_rates.columns[0].values()[0] if execute else none %}
    {%- set rates_until = revised_rates.columns[1].values()[0] if execute else none %}
    {%- set new_stock = run_query(
        'select min(cast(snapshot_at as date)) from ' ~ ref('stg_files__erp_stock_snapshots') ~ ' ' ~ changed
        ) if execute else none %}
    {%- set costs_from = new_stock.columns[0].values()[0] if execute else none %}
{%- endif %}
-- depends_on: {{ ref('stg_ecb__fx_rates') }}, {{ ref('stg_files__fx_rates') }}
-- depends_on: {{ ref('stg_files__erp_stock_snapshots') }}, {{ ref('int_erp_unit_cost_history') }}
-- depends_on: {{ ref('stg_shop__order_lines') }}, {{ ref('stg_ebay__order_lines') }}
-- depends_on: {{ ref('stg_amazon__order_items') }}, {{ ref('stg_etsy__order_lines') }}
-- depends_on: {{ ref('stg_shop__customers') }}
with

shop_orders as (
    select * from {{ ref('stg_shop__orders') }}
),

shop_refunds as (
    select * from {{ ref('stg_shop__refunds') }}
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

etsy_orders as (
    select * from {{ ref('stg_etsy__orders') }}
),

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

order_buyers as (
    select * from {{ ref('int_order_buyers') }}
),

identity_links as (
    select * from {{ ref('int_customer_identity_links') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),
{% if changed_only %}

shop_lines as (
    select * from {{ ref('stg_shop__order_lines') }}
),

ebay_lines as (
    select * from {{ ref('stg_ebay__order_lines') }}
),

amazon_items as (
    select * from {{ ref('stg_amazon__order_items') }}
),

etsy_lines as (
    select * from {{ ref('stg_etsy__order_lines') }}
),

shop_customers as (
    select * from {{ ref('stg_shop__customers') }}
),

cost_history as (
    select * from {{ ref('int_erp_unit_cost_history') }}
),

built as (
    select * from {{ this }}
),

-- Orders with a source row loaded since the last run, and the order file's orders its new version dropped.
changed_orders as (
    select
        'stg_shop__orders' as orders_model,
        cast(order_id as {{ dbt.type_string() }}) as order_id
    from shop_orders {{ changed }}
    union all
    select
        'stg_shop__orders' as orders_model,
        cast(order_id as {{ dbt.type_string() }}) as order_id
    from shop_refunds {{ changed }}
    union all
    select
        'stg_shop__orders' as orders_model,
        cast(order_id as {{ dbt.type_string() }}) as order_id
    from shop_lines {{ changed }}
    union all
    select
        'stg_files__order_lines' as orders_model,
        order_id
    from file_lines {{ changed }}
    union all
    select
        'stg_ebay__orders' as orders_model,
        order_id
    from ebay_orders {{ changed }}
    union all
    select
        'stg_ebay__orders' as orders_model,
        order_id
    from ebay_lines {{ changed }}
    union all
    select
        'stg_amazon__orders' as orders_model,
        order_id
    from amazon_orders {{ changed }}
    union all
    select
        'stg_amazon__orders' as orders_model,
        order_id
    from amazon_items {{ changed }}
    union all
    select
        'stg_etsy__orders' as orders_model,
        order_id
    from etsy_orders {{ changed }}
    union all
    select
        'stg_etsy__orders' as orders_model,
        order_id
    from etsy_lines {{ changed }}
    union all
    select
        built.orders_model,
        built.order_id
    from built
    where built.orders_model = 'stg_files__order_lines'
        and not exists (select 1 from file_lines where file_lines.order_id = built.order_id)
),

-- Buyer records seen since: the keys of changed orders, and Shopify customers loaded since.
touched_keys as (
    select
        source,
        key_kind,
        buyer_key as source_key
    from order_buyers {{ changed }}
    union all
    select
        marketplaces.marketplace as source,
        'shop_customer_id' as key_kind,
        shop_customers.customer_id as source_key
    from shop_customers
    inner join marketplaces on marketplaces.orders_model = 'stg_shop__orders'
    {{ changed | replace('loaded_at', 'shop_customers.loaded_at') }}
),

orders_of_touched_keys as (
    select
        order_buyers.orders_model,
        order_buyers.order_id
    from order_buyers
    where exists (
        select 1 from touched_keys
        where touched_keys.source = order_buyers.source
            and touched_keys.key_kind = order_buyers.key_kind
            and touched_keys.source_key = order_buyers.buyer_key
    )
),

-- Customers whose set of buyer keys may have changed: what the touched keys and changed orders belonged to
-- when built, and what the touched keys belong to now.
affected_customers as (
    select built.customer_id
    from built
    where exists (
        select 1 from changed_orders
        where changed_orders.orders_model = built.orders_model
            and changed_orders.order_id = built.order_id
    )
        or exists (
            select 1 from orders_of_touched_keys
            where orders_of_touched_keys.orders_model = built.orders_model
                and orders_of_touched_keys.order_id = built.order_id
        )
    union
    select identity_links.customer_id
    from identity_links
    where exists (
        select 1 from touched_keys
        where touched_keys.source = identity_links.source
            and touched_keys.key_kind = identity_links.key_kind
            and touched_keys.source_key = identity_links.source_key
    )
),

orders_of_affected_customers as (
    select
        built.orders_model,
        built.order_id
    from built
    where built.customer_id in (select customer_id from affected_customers)
    union all
    select
        order_buyers.orders_model,
        order_buyers.order_id
    from order_buyers
    inner join identity_links
        on order_buyers.source = identity_links.source
        and order_buyers.key_kind = identity_links.key_kind
        and order_buyers.buyer_key = identity_links.source_key
    where identity_links.customer_id in (select customer_id from affected_customers)
),

-- Orders on days whose rate or unit cost may have changed (see the header), and every order of a sku costed
-- by its earliest known cost when a stock file changed.
orders_on_changed_days as (
    select
        orders_model,
        order_id
    from built
    where false
    {%- if rates_from is not none %}
        or order_date between cast('{{ rates_from }}' as date)
        and {{ dbt.dateadd('day', var('fx_max_rate_age_days', 7) | int, "cast('" ~ rates_until ~ "' as date)") }}
    {%- endif %}
    {%- if costs_from is not none %}
        or order_date >= cast('{{ costs_from }}' as date)
    {%- endif %}
),

{% if costs_from is not none %}
skus_at_earliest_cost as (
    select sku
    from cost_history
    where valid_from is null and cost_date >= cast('{{ costs_from }}' as date)
),

orders_at_earliest_cost as (
    select
        orders_model,
        order_id
    from order_lines
    where sku in (select sku from skus_at_earliest_cost)
        or (
            sku is not null
            and not exists (select 1 from cost_history where cost_history.sku = order_lines.sku)
        )
),
{% endif %}

orders_in_scope as (
    select * from changed_orders
    union
    select * from orders_of_touched_keys
    union
    select * from orders_of_affected_customers
    union
    select * from orders_on_changed_days
    {%- if costs_from is not none %}
        union
        select * from orders_at_earliest_cost
    {%- endif %}
),
{% endif %}

-- Each order's customer as identity resolution decided it (rules in int_customer_identity_links).
order_customers as (
    select
        order_buyers.orders_model,
        order_buyers.order_id,
        identity_links.customer_id
    from order_buyers
    inner join identity_links
        on order_buyers.source = identity_links.source
        and order_buyers.key_kind = identity_links.key_kind
        and order_buyers.buyer_key = identity_links.source_key
    {%- if changed_only %}
        where exists (
            select 1 from orders_in_scope
            where orders_in_scope.orders_model = order_buyers.orders_model
                and orders_in_scope.order_id = order_buyers.order_id
        )
    {%- endif %}
),

refunds_per_order as (
    select
        order_id,
        sum(refunded_amount) as refunded_amount,
        max(loaded_at) as loaded_at
    from shop_refunds
    {{ orders_in_scope_filter(changed_only, 'stg_shop__orders', 'cast(order_id as ' ~ dbt.type_string() ~ ')') }}
    group by order_id
),

line_totals as (
    select
        orders_model,
        order_id,
        count(*) as line_count,
        sum(net_line_revenue) as net_line_revenue,
        sum(cost_of_goods) as cost_of_goods,
        sum(case when cost_of_goods is null then 1 else 0 end) as lines_without_cost,
        sum(cost_of_goods_reporting) as cost_of_goods_reporting,
        sum(case when cost_of_goods_reporting is null then 1 else 0 end) as lines_without_cost_reporting,
        max(loaded_at) as loaded_at
    from order_lines
    {%- if changed_only %}
        where exists (
            select 1 from orders_in_scope
            where orders_in_scope.orders_model = order_lines.orders_model
                and orders_in_scope.order_id = order_lines.order_id
        )
    {%- endif %}
    group by orders_model, order_id
),

-- Shopify's subtotal_price is already after discounts (and before tax and shipping).
shop as (
    select
        'stg_shop__orders' as orders_model,
        cast(shop_orders.order_id as {{ dbt.type_string() }}) as order_id,
        shop_orders.customer_id,
        {{ normalize_email('shop_orders.email') }} as email_normalized,
        shop_orders.created_at as ordered_at,
        shop_orders.currency,
        shop_orders.subtotal_price + coalesce(shop_orders.total_discounts, 0) as gross_revenue,
        coalesce(shop_orders.total_discounts, 0) as discounts,
        coalesce(refunds_per_order.refunded_amount, 0) as refunds,
        shop_orders.subtotal_price - coalesce(refunds_per_order.refunded_amount, 0) as net_revenue,
        shop_orders.total_tax as tax,
        shop_orders.total_shipping as shipping,
        shop_orders.total_price,
        shop_orders.cancelled_at is not null as is_cancelled,
        shop_orders.is_test,
        shop_orders.financial_status = 'voided' as is_voided,
        (
            shop_orders.financial_status = 'refunded'
            or (
                shop_orders.subtotal_price > 0
                and coalesce(refunds_per_order.refunded_amount, 0) >= shop_orders.subtotal_price
            )
        ) as is_fully_refunded,
        shop_orders.discount_codes,
        greatest(
            shop_orders.loaded_at, coalesce(refunds_per_order.loaded_at, shop_orders.loaded_at)
        ) as loaded_at
    from shop_orders
    left join refunds_per_order on shop_orders.order_id = refunds_per_order.order_id
    {{ orders_in_scope_filter(
        changed_only, 'stg_shop__orders', 'cast(shop_orders.order_id as ' ~ dbt.type_string() ~ ')'
    ) }}
),

file_orders as (
    select
        order_id,
        max(customer_ref) as customer_ref,
        max(email) as email,
        min(ordered_at) as ordered_at,
        max(currency) as currency,
        max(order_total_price) as total_price,
        max(order_discount_amount) as discounts,
        max(order_refunded_amount) as refunds,
        max(financial_status) as financial_status,
        max(cancelled_at) as cancelled_at,
        max(loaded_at) as loaded_at
    from file_lines
    {{ orders_in_scope_filter(changed_only, 'stg_files__order_lines', 'order_id') }}
    group by order_id
),

-- The import's total_price is what the customer paid for the goods, after discounts.
file_import as (
    select
        'stg_files__order_lines' as orders_model,
        file_orders.order_id,
        order_customers.customer_id,
        {{ normalize_email('file_orders.email') }} as email_normalized,
        file_orders.ordered_at,
        file_orders.currency,
        file_orders.total_price + coalesce(file_orders.discounts, 0) as gross_revenue,
        coalesce(file_orders.discounts, 0) as discounts,
        coalesce(file_orders.refunds, 0) as refunds,
        file_orders.total_price - coalesce(file_orders.refunds, 0) as net_revenue,
        cast(null as decimal(18, 2)) as tax,
        cast(null as decimal(18, 2)) as shipping,
        file_orders.total_price,
        file_orders.cancelled_at is not null as is_cancelled,
        false as is_test,
        coalesce(file_orders.financial_status = 'voided', false) as is_voided,
        (
            coalesce(file_orders.financial_status = 'refunded', false)
            or (file_orders.total_price > 0 and coalesce(file_orders.refunds, 0) >= file_orders.total_price)
        ) as is_fully_refunded,
        cast(null as {{ dbt.type_string() }}) as discount_codes,
        file_orders.loaded_at
    from file_orders
    left join order_customers
        on order_customers.orders_model = 'stg_files__order_lines'
        and file_orders.order_id = order_customers.order_id
),

ebay as (
    select
        'stg_ebay__orders' as orders_model,
        ebay_orders.order_id,
        order_customers.customer_id,
        {{ normalize_email('ebay_orders.buyer_email') }} as email_normalized,
        ebay_orders.created_at as ordered_at,
        ebay_orders.currency,
        coalesce(line_totals.net_line_revenue, ebay_orders.total_price) as gross_revenue,
        cast(0 as decimal(18, 2)) as discounts,
        cast(0 as decimal(18, 2)) as refunds,
        coalesce(line_totals.net_line_revenue, ebay_orders.total_price) as net_revenue,
        cast(null as decimal(18, 2)) as tax,
        cast(null as decimal(18, 2)) as shipping,
        ebay_orders.total_price,
        ebay_orders.cancel_state = 'CANCELED' as is_cancelled,
        false as is_test,
        false as is_voided,
        coalesce(ebay_orders.payment_status = 'FULLY_REFUNDED', false) as is_fully_refunded,
        cast(null as {{ dbt.type_string() }}) as discount_codes,
        ebay_orders.loaded_at
    from ebay_orders
    left join line_totals
        on line_totals.orders_model = 'stg_ebay__orders'
        and ebay_orders.order_id = line_totals.order_id
    left join order_customers
        on order_customers.orders_model = 'stg_ebay__orders'
        and ebay_orders.order_id = order_customers.order_id
    {{ orders_in_scope_filter(changed_only, 'stg_ebay__orders', 'ebay_orders.order_id') }}
),

amazon as (
    select
        'stg_amazon__orders' as orders_model,
        amazon_orders.order_id,
        order_customers.customer_id,
        {{ normalize_email('amazon_orders.buyer_email') }} as email_normalized,
        amazon_orders.created_at as ordered_at,
        amazon_orders.currency,
        coalesce(line_totals.net_line_revenue, amazon_orders.total_price) as gross_revenue,
        cast(0 as decimal(18, 2)) as discounts,
        cast(0 as decimal(18, 2)) as refunds,
        coalesce(line_totals.net_line_revenue, amazon_orders.total_price) as net_revenue,
        cast(null as decimal(18, 2)) as tax,
        cast(null as decimal(18, 2)) as shipping,
        amazon_orders.total_price,
        amazon_orders.order_status = 'Canceled' as is_cancelled,
        false as is_test,
        false as is_voided,
        false as is_fully_refunded,
        cast(null as {{ dbt.type_string() }}) as discount_codes,
        amazon_orders.loaded_at
    from amazon_orders
    left join line_totals
        on line_totals.orders_model = 'stg_amazon__orders'
        and amazon_orders.order_id = line_totals.order_id
    left join order_customers
        on order_customers.orders_model = 'stg_amazon__orders'
        and amazon_orders.order_id = order_customers.order_id
    {{ orders_in_scope_filter(changed_only, 'stg_amazon__orders', 'amazon_orders.order_id') }}
),

-- Etsy: total_price is the goods before discounts, subtotal after them (ShopReceipt). The buyer's e-mail is
-- not used to link identities (see stg_etsy__orders), so an Etsy order names no customer yet.
etsy as (
    select
        'stg_etsy__orders' as orders_model,
        etsy_orders.order_id,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as email_normalized,
        etsy_orders.created_at as ordered_at,
        etsy_orders.currency,
        coalesce(etsy_orders.items_price, line_totals.net_line_revenue) as gross_revenue,
        coalesce(etsy_orders.total_discounts, 0) as discounts,
        cast(0 as decimal(18, 2)) as refunds,
        coalesce(
            etsy_orders.subtotal_price,
            coalesce(etsy_orders.items_price, line_totals.net_line_revenue) - coalesce(etsy_orders.total_discounts, 0)
        ) as net_revenue,
        etsy_orders.total_tax as tax,
        etsy_orders.total_shipping as shipping,
        etsy_orders.total_price,
        etsy_orders.status = 'canceled' as is_cancelled,
        false as is_test,
        false as is_voided,
        etsy_orders.status = 'fully refunded' as is_fully_refunded,
        cast(null as {{ dbt.type_string() }}) as discount_codes,
        etsy_orders.loaded_at
    from etsy_orders
    left join line_totals
        on line_totals.orders_model = 'stg_etsy__orders'
        and etsy_orders.order_id = line_totals.order_id
    {{ orders_in_scope_filter(changed_only, 'stg_etsy__orders', 'etsy_orders.order_id') }}
),

unioned as (
    select * from shop
    union all
    select * from file_import
    union all
    select * from ebay
    union all
    select * from amazon
    union all
    select * from etsy
),

final as (
    select
        marketplaces.marketplace || ':' || unioned.order_id as order_key,
        unioned.order_id,
        marketplaces.marketplace as order_source,
        unioned.orders_model,
        marketplaces.is_own_shop,
        marketplaces.channel as source_channel,
        unioned.customer_id,
        unioned.email_normalized,
        unioned.ordered_at,
        cast(unioned.ordered_at as date) as order_date,
        unioned.currency,
        cast(unioned.gross_revenue as decimal(18, 2)) as gross_revenue,
        cast(unioned.discounts as decimal(18, 2)) as discounts,
        cast(unioned.refunds as decimal(18, 2)) as refunds,
        cast(unioned.net_revenue as decimal(18, 2)) as net_revenue,
        cast(unioned.tax as decimal(18, 2)) as tax,
        cast(unioned.shipping as decimal(18, 2)) as shipping,
        cast(unioned.total_price as decimal(18, 2)) as total_price,
        -- Margin only where every line has an ERP cost; a partial cost would overstate it.
        cast(
            case
                when line_totals.line_count > 0 and line_totals.lines_without_cost = 0
                    and upper(unioned.currency) = {{ shop_currency() }}
                    then unioned.net_revenue - line_totals.cost_of_goods
            end as decimal(18, 2)
        ) as gross_margin,
        {{ reporting_currency() }} as reporting_currency,
        {{ fx_rate_to_reporting('unioned.currency', 'order_fx') }} as fx_rate_to_reporting,
        {{ fx_rate_to_reporting('unioned.currency', 'order_fx') }} is not null as has_fx_rate,
        {{ to_reporting_currency('unioned.gross_revenue', 'unioned.currency', 'order_fx') }} as gross_revenue_reporting,
        {{ to_reporting_currency('unioned.discounts', 'unioned.currency', 'order_fx') }} as discounts_reporting,
        {{ to_reporting_currency('unioned.refunds', 'unioned.currency', 'order_fx') }} as refunds_reporting,
        {{ to_reporting_currency('unioned.net_revenue', 'unioned.currency', 'order_fx') }} as net_revenue_reporting,
        {{ to_reporting_currency('unioned.tax', 'unioned.currency', 'order_fx') }} as tax_reporting,
        {{ to_reporting_currency('unioned.shipping', 'unioned.currency', 'order_fx') }} as shipping_reporting,
        {{ to_reporting_currency('unioned.total_price', 'unioned.currency', 'order_fx') }} as total_price_reporting,
        cast(
            case
                when line_totals.line_count > 0 and line_totals.lines_without_cost_reporting = 0
                    then
                        {{ to_reporting_currency('unioned.net_revenue', 'unioned.currency', 'order_fx') }}
                        - line_totals.cost_of_goods_reporting
            end as decimal(18, 2)
        ) as gross_margin_reporting,
        unioned.is_cancelled,
        unioned.is_test,
        unioned.is_voided,
        unioned.is_fully_refunded,
        not unioned.is_cancelled
        and not unioned.is_test
        and not unioned.is_voided
        and not unioned.is_fully_refunded as is_valid,
        unioned.discount_codes,
        greatest(unioned.loaded_at, coalesce(line_totals.loaded_at, unioned.loaded_at)) as loaded_at,
        {{ build_stamp() }} as built_at
    from unioned
    left join marketplaces on unioned.orders_model = marketplaces.orders_model
    left join line_totals
        on unioned.orders_model = line_totals.orders_model
        and unioned.order_id = line_totals.order_id
    {{ fx_rate_join('unioned.currency', 'unioned.ordered_at', 'order_fx') }}
)

select * from final

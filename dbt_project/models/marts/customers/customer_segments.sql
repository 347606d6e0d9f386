{#- One row per (customer, segment). Rules (thresholds in dbt_project.yml vars, all relative to as_of_date):
    - rfm:<segment>      every scored customer, from customer_rfm;
    - abandoned_cart     add_to_cart or begin_checkout in the last var abandoned_cart_days days with no
                         valid order at or after it;
    - browse_abandoner   has a product in int_browse_abandoned_products: viewed at least var
                         browse_abandon_min_views times in the last var browse_abandon_days days, not carted,
                         checked out or bought since the first of those views;
    - high_intent        at least var high_intent_min_product_views product views in the last
                         var high_intent_days days;
    - cross_sell:<cat>   has a cross-sell recommendation in category <cat>;
    - upsell             has an upsell recommendation;
    - lapsed             last valid order more than var lapsed_days days ago;
    - vip                rfm_segment = var vip_rfm_segment (Champions) and net revenue in the top
                         var vip_top_monetary_share (a tenth) of scored customers: percent rank of monetary
                         (ties share the lowest rank, as in customer_rfm) >= 1 - share;
    - new_customer       first valid order within the last var new_customer_days days;
    - geo:<country>      the customer's country (ISO alpha-2);
    - marketplace_only   every valid order came from a third-party marketplace (seed marketplaces, not
                         is_own_shop: eBay, Amazon);
    - advocate           the first valid order came through an affiliate channel (seed channels, is_affiliate:
                         partner/referral programmes);
    - referrer           someone else's valid order up to as_of_date was credited to the customer's referral
                         code or link (int_order_referrals, self-referral excluded); qualified at the first;
    - advocate_candidate an RFM segment of var advocate_rfm_segments (Champions, Loyal Customers), consent to
                         e-mail, no opt_out/delete request, and not (yet) a referrer: who to invite to refer.
    - due_to_reorder     int_customer_purchase_regularity.is_due_to_reorder: at least var
                         due_to_reorder_min_orders valid orders and more days since the last than var
                         due_to_reorder_factor times the customer's median inter-purchase interval;
    - frequent_browser   at least var frequent_browser_min_sessions_30d stitched GA4 sessions in the last 30
                         days (int_customer_web_engagement); qualified at the latest session;
    - category_affinity:<category>  the category the customer browses most (int_customer_category_affinity,
                         weighted by the seed product_signal_weights) holds at least var
                         category_affinity_min_share of their browsing weight and at least var
                         category_affinity_min_weight of it.
    Web behaviour is tied to customers by identity stitching (int_identity_map). -#}
with

rfm as (
    select * from {{ ref('customer_rfm') }}
),

recommendations as (
    select * from {{ ref('customer_recommendations') }}
),

customers as (
    select * from {{ ref('int_customers') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

attribution as (
    select * from {{ ref('int_order_attribution') }}
),

channels as (
    select * from {{ ref('channels') }}
),

events as (
    select * from {{ ref('int_web_events') }}
),

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

browse_abandoned_products as (
    select * from {{ ref('int_browse_abandoned_products') }}
),

order_referrals as (
    select * from {{ ref('int_order_referrals') }}
),

purchase_regularity as (
    select * from {{ ref('int_customer_purchase_regularity') }}
),

web_engagement as (
    select * from {{ ref('int_customer_web_engagement') }}
),

category_affinity as (
    select * from {{ ref('int_customer_category_affinity') }}
),

customer_events as (
    select
        identity_map.customer_id,
        events.event_name,
        events.event_at
    from events
    inner join identity_map on events.user_pseudo_id = identity_map.user_pseudo_id
    where cast(events.event_at as date) <= {{ as_of_date() }}
),

-- One pass over the valid orders for every order-based rule below (last order, channel mix).
valid_order_summary as (
    select
        customer_id,
        max(ordered_at) as last_ordered_at,
        sum(case when not is_own_shop then 0 else 1 end) as non_marketplace_orders,
        count(*) as valid_orders
    from orders
    where is_valid
        and customer_id is not null
        and order_date <= {{ as_of_date() }}
    group by customer_id
),

cart_activity as (
    select
        customer_id,
        max(event_at) as last_cart_at
    from customer_events
    where event_name in ('add_to_cart', 'begin_checkout')
        and cast(event_at as date) > {{ dbt.dateadd('day', -(var('abandoned_cart_days') | int), as_of_date()) }}
    group by customer_id
),

abandoned_cart as (
    select
        cart_activity.customer_id,
        'abandoned_cart' as segment,
        'behaviour' as segment_type,
        'cart activity in the last {{ var("abandoned_cart_days") }} days without a later order' as reason,
        cart_activity.last_cart_at as qualified_at
    from cart_activity
    left join valid_order_summary on cart_activity.customer_id = valid_order_summary.customer_id
    where valid_order_summary.last_ordered_at is null
        or valid_order_summary.last_ordered_at < cart_activity.last_cart_at
),

browse_abandoner as (
    select
        customer_id,
        'browse_abandoner' as segment,
        'behaviour' as segment_type,
        'viewed a product at least {{ var("browse_abandon_min_views") }} times in the last '
        || '{{ var("browse_abandon_days") }} days without carting or buying it since' as reason,
        max(last_viewed_at) as qualified_at
    from browse_abandoned_products
    group by customer_id
),

high_intent as (
    select
        customer_id,
        'high_intent' as segment,
        'behaviour' as segment_type,
        'at least {{ var("high_intent_min_product_views") }} product views'
        || ' in the last {{ var("high_intent_days") }} days' as reason,
        max(event_at) as qualified_at
    from customer_events
    where event_name = 'view_item'
        and cast(event_at as date) > {{ dbt.dateadd('day', -(var('high_intent_days') | int), as_of_date()) }}
    group by customer_id
    having count(*) >= {{ var('high_intent_min_product_views') | int }}
),

rfm_segment as (
    select
        customer_id,
        'rfm:' || rfm_segment as segment,
        'rfm' as segment_type,
        'RFM score ' || rfm_score as reason,
        cast({{ as_of_date() }} as timestamp) as qualified_at
    from rfm
),

cross_sell as (
    select distinct
        customer_id,
        'cross_sell:' || category as segment,
        'product' as segment_type,
        'has a cross-sell recommendation in ' || category as reason,
        cast({{ as_of_date() }} as timestamp) as qualified_at
    from recommendations
    where kind = 'cross_sell'
),

upsell as (
    select distinct
        customer_id,
        'upsell' as segment,
        'product' as segment_type,
        'a pricier product exists in a category the customer buys' as reason,
        cast({{ as_of_date() }} as timestamp) as qualified_at
    from recommendations
    where kind = 'upsell'
),

lapsed as (
    select
        customer_id,
        'lapsed' as segment,
        'lifecycle' as segment_type,
        'no valid order for more than {{ var("lapsed_days") }} days' as reason,
        cast({{ as_of_date() }} as timestamp) as qualified_at
    from rfm
    where recency_days > {{ var('lapsed_days') | int }}
),

monetary_ranks as (
    select
        customer_id,
        rfm_segment,
        {{ percent_rank_tied('monetary') }} as monetary_percent_rank
    from rfm
),

vip as (
    select
        customer_id,
        'vip' as segment,
        'lifecycle' as segment_type,
        'RFM {{ var("vip_rfm_segment") }} in the top {{ var("vip_top_monetary_share") }} by net revenue' as reason,
        cast({{ as_of_date() }} as timestamp) as qualified_at
    from monetary_ranks
    where rfm_segment = '{{ var("vip_rfm_segment") }}'
        and monetary_percent_rank >= 1 - {{ var('vip_top_monetary_share') | float }}
),

new_customer as (
    select
        customer_id,
        'new_customer' as segment,
        'lifecycle' as segment_type,
        'first valid order in the last {{ var("new_customer_days") }} days' as reason,
        first_order_at as qualified_at
    from rfm
    where cast(first_order_at as date) > {{ dbt.dateadd('day', -(var('new_customer_days') | int), as_of_date()) }}
),

geo as (
    select
        customer_id,
        'geo:' || country_code as segment,
        'geo' as segment_type,
        'customer country ' || country_code as reason,
        cast({{ as_of_date() }} as timestamp) as qualified_at
    from customers
    where country_code is not null
),

marketplace_only as (
    select
        customer_id,
        'marketplace_only' as segment,
        'channel' as segment_type,
        'all ' || cast(valid_orders as {{ dbt.type_string() }}) || ' valid orders came from marketplaces' as reason,
        cast({{ as_of_date() }} as timestamp) as qualified_at
    from valid_order_summary
    where non_marketplace_orders = 0
),

-- Each customer's first order (by time, then key) in one hash aggregate instead of a window over all orders.
first_orders as (
    select
        customer_id,
        {{ first_by('channel', ['ordered_at', 'order_key']) }} as channel,
        min(ordered_at) as ordered_at
    from attribution
    where customer_id is not null
        and order_date <= {{ as_of_date() }}
    group by customer_id
),

advocate as (
    select
        first_orders.customer_id,
        'advocate' as segment,
        'channel' as segment_type,
        'first order came through the affiliate channel' as reason,
        first_orders.ordered_at as qualified_at
    from first_orders
    inner join channels on first_orders.channel = channels.channel
    where channels.is_affiliate
),

referrer as (
    select
        referrer_customer_id as customer_id,
        'referrer' as segment,
        'advocacy' as segment_type,
        'a referral code or link of the customer brought an order' as reason,
        min(ordered_at) as qualified_at
    from order_referrals
    where referrer_customer_id is not null
        and order_date <= {{ as_of_date() }}
    group by referrer_customer_id
),

advocate_candidate as (
    select
        rfm.customer_id,
        'advocate_candidate' as segment,
        'advocacy' as segment_type,
        'RFM ' || rfm.rfm_segment || ', consents to e-mail and has not referred yet' as reason,
        cast({{ as_of_date() }} as timestamp) as qualified_at
    from rfm
    inner join customers on rfm.customer_id = customers.customer_id
    left join referrer on rfm.customer_id = referrer.customer_id
    where rfm.rfm_segment in ('{{ var("advocate_rfm_segments") | join("', '") }}')  -- noqa: LT05
        and customers.consent_email
        and not customers.is_privacy_blocked
        and referrer.customer_id is null
),

due_to_reorder as (
    select
        customer_id,
        'due_to_reorder' as segment,
        'lifecycle' as segment_type,
        'more than {{ var("due_to_reorder_factor") }} times the median interval between orders since the last one'
            as reason,
        cast({{ as_of_date() }} as timestamp) as qualified_at
    from purchase_regularity
    where is_due_to_reorder
),

frequent_browser as (
    select
        customer_id,
        'frequent_browser' as segment,
        'behaviour' as segment_type,
        'at least {{ var("frequent_browser_min_sessions_30d") }} site sessions in the last 30 days' as reason,
        last_session_at as qualified_at
    from web_engagement
    where sessions_30d >= {{ var('frequent_browser_min_sessions_30d') | int }}
),

category_affinity_segment as (
    select
        customer_id,
        'category_affinity:' || top_category as segment,
        'product' as segment_type,
        'browses ' || top_category || ' most: '
        || cast(cast(floor(100 * top_category_share + 1e-9) as integer) as {{ dbt.type_string() }}) || '% of browsing'
            as reason,
        cast({{ as_of_date() }} as timestamp) as qualified_at
    from category_affinity
    where top_category_share >= {{ var('category_affinity_min_share') | float }}
        and top_category_weight >= {{ var('category_affinity_min_weight') | float }}
),

unioned as (
    select * from rfm_segment
    union all
    select * from abandoned_cart
    union all
    select * from browse_abandoner
    union all
    select * from high_intent
    union all
    select * from cross_sell
    union all
    select * from upsell
    union all
    select * from lapsed
    union all
    select * from vip
    union all
    select * from new_customer
    union all
    select * from geo
    union all
    select * from marketplace_only
    union all
    select * from advocate
    union all
    select * from referrer
    union all
    select * from advocate_candidate
    union all
    select * from due_to_reorder
    union all
    select * from frequent_browser
    union all
    select * from category_affinity_segment
),

final as (
    select
        cast(customer_id as text) as customer_id,
        cast(segment as text) as segment,
        cast(segment_type as text) as segment_type,
        cast(reason as text) as reason,
        cast(qualified_at as timestamp) as qualified_at
    from unioned
)

select * from final

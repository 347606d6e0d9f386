{#- One row per Shopify customer id: what the shop shows that customer, written to their Shopify customer
    metafields and tags by the sync shop_profile_shopify. Only customers the shop knows (a Shopify customer id in
    customer_identity_links) appear; customers with an opt_out or delete request never appear, so the sync removes
    what it wrote for them. segments is every customer_segments.segment of the customer, sorted, comma-joined
    (commas inside a segment name become spaces: a Shopify tag cannot hold one); recommended_skus the top var
    recommended_skus_in_audience of customer_recommendations by rank (int_customer_top_recommendations). -#}
with

links as (
    select * from {{ ref('customer_identity_links') }}
),

customers as (
    select * from {{ ref('int_customers') }}
),

rfm as (
    select * from {{ ref('customer_rfm') }}
),

segments as (
    select * from {{ ref('customer_segments') }}
),

top_recommendations as (
    select * from {{ ref('int_customer_top_recommendations') }}
),

shop_customers as (
    select
        source_key as shopify_customer_id,
        min(customer_id) as customer_id
    from links
    where key_kind = 'shop_customer_id'
    group by source_key
),

customer_segment_list as (
    select
        customer_id,
        {{ sorted_listagg('segment', "','", "replace(segment, ',', ' ')") }} as segments
    from segments
    group by customer_id
),

final as (
    select
        cast(shop_customers.shopify_customer_id as text) as shopify_customer_id,
        cast(shop_customers.customer_id as text) as customer_id,
        cast(rfm.rfm_segment as text) as rfm_segment,
        cast(customer_segment_list.segments as text) as segments,
        cast(top_recommendations.recommended_skus as text) as recommended_skus
    from shop_customers
    inner join customers on shop_customers.customer_id = customers.customer_id
    left join rfm on shop_customers.customer_id = rfm.customer_id
    left join customer_segment_list on shop_customers.customer_id = customer_segment_list.customer_id
    left join top_recommendations on shop_customers.customer_id = top_recommendations.customer_id
    where not customers.is_privacy_blocked
)

select * from final

{#- One row per (journey, customer): the journey's trigger for each member of its audience (audience_members, so
    privacy, consent and the holdout flag are the audience's), with the products the event is about (seed
    journeys, product_rule):
    - browse_abandoned  the customer's int_browse_abandoned_products, most viewed first;
    - browsed           the customer's recommendations with web interest, highest browse_score first;
    - upsell            the customer's upsell recommendations (because_of_sku = the product it upgrades);
    - recommended       the customer's top recommendations, in rank order.
    At most var journey_products_per_event products; the first (lead) one comes with its title, image, URL and
    price for the e-mail. A member with no product is left out, except for 'recommended' journeys (a win-back
    e-mail still carries its code). The only personal data is the e-mail, present only with e-mail consent. -#}
with

members as (
    select * from {{ ref('audience_members') }}
),

journeys as (
    select * from {{ ref('journeys') }}
),

browse_abandoned as (
    select * from {{ ref('int_browse_abandoned_products') }}
),

recommendations as (
    select * from {{ ref('customer_recommendations') }}
),

product_content as (
    select * from {{ ref('int_product_content') }}
),

journey_members as (
    select
        journeys.journey_id,
        journeys.product_rule,
        members.customer_id,
        members.email,
        members.rfm_segment,
        members.discount_code,
        members.is_holdout,
        members.consent_email
    from members
    inner join journeys on members.audience_id = journeys.journey_id
),

browse_abandoned_products as (
    select
        journey_members.journey_id,
        journey_members.customer_id,
        browse_abandoned.sku,
        cast(null as {{ dbt.type_string() }}) as because_of_sku,
        row_number() over (
            partition by journey_members.journey_id, journey_members.customer_id
            order by browse_abandoned.views desc, browse_abandoned.last_viewed_at desc, browse_abandoned.sku asc
        ) as product_rank
    from journey_members
    inner join browse_abandoned on journey_members.customer_id = browse_abandoned.customer_id
    where journey_members.product_rule = 'browse_abandoned'
),

browsed_products as (
    select
        journey_members.journey_id,
        journey_members.customer_id,
        recommendations.sku,
        cast(null as {{ dbt.type_string() }}) as because_of_sku,
        row_number() over (
            partition by journey_members.journey_id, journey_members.customer_id
            order by recommendations.browse_score desc, recommendations.rank asc
        ) as product_rank
    from journey_members
    inner join recommendations on journey_members.customer_id = recommendations.customer_id
    where journey_members.product_rule = 'browsed'
        and recommendations.browse_score > 0
),

upsell_products as (
    select
        journey_members.journey_id,
        journey_members.customer_id,
        recommendations.sku,
        recommendations.because_of_sku,
        row_number() over (
            partition by journey_members.journey_id, journey_members.customer_id
            order by recommendations.rank
        ) as product_rank
    from journey_members
    inner join recommendations on journey_members.customer_id = recommendations.customer_id
    where journey_members.product_rule = 'upsell'
        and recommendations.kind = 'upsell'
),

recommended_products as (
    select
        journey_members.journey_id,
        journey_members.customer_id,
        recommendations.sku,
        recommendations.because_of_sku,
        recommendations.rank as product_rank
    from journey_members
    inner join recommendations on journey_members.customer_id = recommendations.customer_id
    where journey_members.product_rule = 'recommended'
),

journey_products as (
    select * from browse_abandoned_products
    union all
    select * from browsed_products
    union all
    select * from upsell_products
    union all
    select * from recommended_products
),

event_products as (
    select
        journey_products.*,
        product_content.product_title
    from journey_products
    inner join product_content on journey_products.sku = product_content.sku
    where journey_products.product_rank <= {{ var('journey_products_per_event') | int }}
),

product_lists as (
    select
        journey_id,
        customer_id,
        {{ dbt.listagg('sku', "','", 'order by product_rank') }} as skus,
        {{ dbt.listagg('product_title', "' | '", 'order by product_rank') }} as product_titles
    from event_products
    group by journey_id, customer_id
),

lead_products as (
    select * from event_products
    where product_rank = 1
),

final as (
    select
        cast(journey_members.journey_id as text) as journey_id,
        cast(journey_members.customer_id as text) as customer_id,
        cast(journey_members.email as text) as email,
        cast(product_lists.skus as text) as skus,
        cast(product_lists.product_titles as text) as product_titles,
        cast(lead_products.sku as text) as product_sku,
        cast(lead_content.product_title as text) as product_title,
        cast(lead_content.image_url as text) as product_image_url,
        cast(lead_content.product_url as text) as product_url,
        cast(lead_content.price as decimal(18, 2)) as product_price,
        cast(lead_content.currency as text) as currency,
        cast(lead_products.because_of_sku as text) as because_of_sku,
        cast(because_of_content.product_title as text) as because_of_title,
        cast(journey_members.discount_code as text) as discount_code,
        cast(journey_members.rfm_segment as text) as rfm_segment,
        journey_members.is_holdout,
        journey_members.consent_email
    from journey_members
    left join product_lists
        on journey_members.journey_id = product_lists.journey_id
        and journey_members.customer_id = product_lists.customer_id
    left join lead_products
        on journey_members.journey_id = lead_products.journey_id
        and journey_members.customer_id = lead_products.customer_id
    left join product_content as lead_content on lead_products.sku = lead_content.sku
    left join product_content as because_of_content on lead_products.because_of_sku = because_of_content.sku
    where lead_products.sku is not null
        or journey_members.product_rule = 'recommended'
)

select * from final

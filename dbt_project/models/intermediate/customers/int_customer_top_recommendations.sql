{#- One row per customer with at least one recommendation: the top var recommended_skus_in_audience SKUs of
    customer_recommendations by rank, comma-joined. Read by audience_members and customer_shop_profile, so an
    audience and the shop always name the same products. -#}
with

recommendations as (
    select * from {{ ref('customer_recommendations') }}
),

final as (
    select
        customer_id,
        {{ dbt.listagg('sku', "','", 'order by rank', var('recommended_skus_in_audience') | int) }}
            as recommended_skus
    from recommendations
    where rank <= {{ var('recommended_skus_in_audience') | int }}
    group by customer_id
)

select * from final

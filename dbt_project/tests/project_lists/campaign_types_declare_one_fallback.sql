{#- Fails unless exactly one row of the seed campaign_types is the fallback (is_unclassified): int_campaign_types
    gives it to a campaign no rule matches, so none would leave such a campaign without a type and two would
    duplicate it. -#}
with

campaign_types as (
    select * from {{ ref('campaign_types') }}
),

final as (
    select count(*) as fallback_types
    from campaign_types
    where is_unclassified
    having count(*) <> 1
)

select * from final

{#- Fails unless exactly one row of the seed channels is the direct channel: int_sessions and
    int_order_attribution join it as the fallback channel, so none would leave sessions without a channel and
    two would duplicate them. -#}
with

channels as (
    select * from {{ ref('channels') }}
),

final as (
    select count(*) as direct_channels
    from channels
    where is_direct
    having count(*) <> 1
)

select * from final

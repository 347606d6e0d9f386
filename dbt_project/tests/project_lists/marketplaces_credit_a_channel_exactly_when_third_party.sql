{#- Fails on rows of the seed marketplaces whose channel does not fit is_own_shop: own-shop orders take their
    channel from the web session (so no channel here), third-party marketplace orders have no session and are
    credited to this channel (so one is required). -#}
with

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

final as (
    select
        marketplace,
        is_own_shop,
        channel
    from marketplaces
    where (is_own_shop and channel is not null)
        or (not is_own_shop and channel is null)
)

select * from final

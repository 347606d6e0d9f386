{#- One row per (sync, audience spell): every member a sync would send — the audience(s) its filter names, with
    the consent it requires (seed audience_syncs, written from the sync declarations) — treated when not held out,
    the comparison group when held out (intention to treat: a treated member counts whether or not the
    destination matched them). The outcome window runs from the day after entry for var uplift_window_days days,
    cut at as_of_date (observed_days says how much of it has passed; a partial window is the same for both groups
    of a spell period, so the comparison stays fair). Outcomes are the customer's valid orders in the window and
    their net revenue in the reporting currency (orders without a rate count as conversions, not revenue). -#}
with

spells as (
    select * from {{ ref('audience_membership_history') }}
),

syncs as (
    select * from {{ ref('audience_syncs') }}
    where enabled
),

orders as (
    select
        customer_id,
        order_date,
        net_revenue_reporting
    from {{ ref('int_orders') }}
    where is_valid
        and order_date <= {{ as_of_date() }}
),

sync_members as (
    select
        syncs.sync_id,
        syncs.destination,
        spells.audience_id,
        spells.customer_id,
        spells.entered_on,
        spells.is_holdout,
        {{ dbt.date_trunc('month', 'spells.entered_on') }} as period_start,
        least(
            {{ dbt.dateadd('day', var('uplift_window_days') | int, 'spells.entered_on') }},
            {{ as_of_date() }}
        ) as window_end
    from spells
    inner join syncs
        on (
            (syncs.audience_match = 'exact' and spells.audience_id = syncs.audience_pattern)
            or (syncs.audience_match = 'like' and spells.audience_id like syncs.audience_pattern)
        )
        and (
            syncs.consent_column = 'none'
            or (syncs.consent_column = 'consent_email' and spells.consent_email)
            or (syncs.consent_column = 'consent_ads' and spells.consent_ads)
        )
),

outcomes as (
    select
        sync_members.sync_id,
        sync_members.audience_id,
        sync_members.customer_id,
        sync_members.entered_on,
        count(orders.order_date) as orders,
        coalesce(sum(orders.net_revenue_reporting), 0) as revenue_reporting
    from sync_members
    left join orders
        on sync_members.customer_id = orders.customer_id
        and sync_members.entered_on < orders.order_date
        and sync_members.window_end >= orders.order_date
    group by sync_members.sync_id, sync_members.audience_id, sync_members.customer_id, sync_members.entered_on
),

final as (
    select
        cast(sync_members.sync_id as {{ dbt.type_string() }}) as sync_id,
        cast(sync_members.destination as {{ dbt.type_string() }}) as destination,
        cast(sync_members.audience_id as {{ dbt.type_string() }}) as audience_id,
        cast(sync_members.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(sync_members.entered_on as date) as entered_on,
        cast(sync_members.period_start as date) as period_start,
        sync_members.is_holdout,
        cast({{ dbt.datediff('sync_members.entered_on', 'sync_members.window_end', 'day') }} as integer)  -- noqa: LT05
            as observed_days,
        cast(outcomes.orders as integer) as orders,
        outcomes.orders > 0 as converted,
        cast(outcomes.revenue_reporting as decimal(18, 2)) as revenue_reporting
    from sync_members
    inner join outcomes
        on sync_members.sync_id = outcomes.sync_id
        and sync_members.audience_id = outcomes.audience_id
        and sync_members.customer_id = outcomes.customer_id
        and sync_members.entered_on = outcomes.entered_on
)

select * from final

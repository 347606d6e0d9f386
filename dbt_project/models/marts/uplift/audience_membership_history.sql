{#- One row per spell of a customer in an audience: entered_on is the first as_of_date the customer was a member,
    left_on the first as_of_date they no longer were (null while still a member). Incremental: each run closes the
    open spells whose customer left and opens one for each member without an open spell; closed spells never
    change. is_holdout and the consent flags are those at entry (the holdout assignment is deterministic, so it
    never changes for a customer). Runs are expected to move forward in as_of_date; re-running the same date is
    idempotent. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['audience_id', 'customer_id', 'entered_on'],
    on_schema_change='append_new_columns'
) }}

with

current_members as (
    select
        audience_id,
        customer_id,
        is_holdout,
        consent_email,
        consent_ads
    from {{ ref('audience_members') }}
),

{% if is_incremental() %}

open_spells as (
    select * from {{ this }}
    where left_on is null
),

kept_or_closed as (
    select
        open_spells.audience_id,
        open_spells.customer_id,
        open_spells.entered_on,
        case when current_members.customer_id is null then {{ as_of_date() }} end as left_on,
        open_spells.is_holdout,
        open_spells.consent_email,
        open_spells.consent_ads
    from open_spells
    left join current_members
        on open_spells.audience_id = current_members.audience_id
        and open_spells.customer_id = current_members.customer_id
),

entered as (
    select
        current_members.audience_id,
        current_members.customer_id,
        {{ as_of_date() }} as entered_on,
        cast(null as date) as left_on,
        current_members.is_holdout,
        current_members.consent_email,
        current_members.consent_ads
    from current_members
    left join open_spells
        on current_members.audience_id = open_spells.audience_id
        and current_members.customer_id = open_spells.customer_id
    where open_spells.customer_id is null
),

spells as (
    select * from kept_or_closed
    union all
    select * from entered
),

{% else %}

    spells as (
        select
            audience_id,
            customer_id,
            {{ as_of_date() }} as entered_on,
            cast(null as date) as left_on,
            is_holdout,
            consent_email,
            consent_ads
        from current_members
    ),

{% endif %}

final as (
    select
        cast(audience_id as {{ dbt.type_string() }}) as audience_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(entered_on as date) as entered_on,
        cast(left_on as date) as left_on,
        cast(is_holdout as boolean) as is_holdout,
        cast(consent_email as boolean) as consent_email,
        cast(consent_ads as boolean) as consent_ads
    from spells
)

select * from final

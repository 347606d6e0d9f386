{#- One row per (sync, audience, entry month): members treated and held out, conversion rate and revenue per
    member in each group, and the incremental effect with a 95% confidence interval.
    Method: the difference of two means with Welch's (unequal-variance) standard error and the normal
    approximation, diff ± 1.959964 × sqrt(s_t²/n_t + s_h²/n_h); for conversion the Bernoulli variance p(1 - p)
    (the Wald interval for a difference of proportions). Incremental revenue is the per-member difference times
    the treated members (and its interval likewise scaled). too_small_to_conclude is true when either group has
    fewer than var uplift_min_group_members members or fewer than var uplift_min_group_conversions conversions,
    where the normal approximation is not trustworthy; then the interval is still shown but is_significant is
    false. -#}
{%- set z = 1.959964 %}
{%- set double = type_double() %}

with

outcomes as (
    select * from {{ ref('int_audience_outcomes') }}
),

groups as (
    select
        sync_id,
        destination,
        audience_id,
        period_start,
        sum(case when not is_holdout then 1 else 0 end) as treated_members,
        sum(case when is_holdout then 1 else 0 end) as holdout_members,
        sum(case when not is_holdout and converted then 1 else 0 end) as treated_conversions,
        sum(case when is_holdout and converted then 1 else 0 end) as holdout_conversions,
        sum(case when not is_holdout then cast(revenue_reporting as {{ double }}) else 0 end) as treated_revenue,
        sum(case when is_holdout then cast(revenue_reporting as {{ double }}) else 0 end) as holdout_revenue,
        sum(case when not is_holdout then power(cast(revenue_reporting as {{ double }}), 2) else 0 end)
            as treated_revenue_sq,
        sum(case when is_holdout then power(cast(revenue_reporting as {{ double }}), 2) else 0 end)
            as holdout_revenue_sq,
        avg(cast(observed_days as {{ double }})) as avg_observed_days
    from outcomes
    group by sync_id, destination, audience_id, period_start
),

rates as (
    select
        *,
        case when treated_members > 0 then treated_conversions * 1.0 / treated_members end as treated_conversion_rate,
        case when holdout_members > 0 then holdout_conversions * 1.0 / holdout_members end as holdout_conversion_rate,
        case when treated_members > 0 then treated_revenue / treated_members end as treated_revenue_per_member,
        case when holdout_members > 0 then holdout_revenue / holdout_members end as holdout_revenue_per_member,
        -- Sample variance of revenue per member: (Σx² - n·mean²) / (n - 1), floored at 0 against rounding.
        case when treated_members > 1 then greatest(
                    (treated_revenue_sq - treated_revenue * treated_revenue / treated_members) / (treated_members - 1),
                    0
                )
        end as treated_revenue_variance,
        case when holdout_members > 1 then greatest(
                    (holdout_revenue_sq - holdout_revenue * holdout_revenue / holdout_members) / (holdout_members - 1),
                    0
                )
        end as holdout_revenue_variance
    from groups
),

effects as (
    select
        *,
        treated_conversion_rate - holdout_conversion_rate as conversion_uplift,
        sqrt(
            treated_conversion_rate * (1 - treated_conversion_rate) / treated_members
            + holdout_conversion_rate * (1 - holdout_conversion_rate) / holdout_members
        ) as conversion_uplift_se,
        treated_revenue_per_member - holdout_revenue_per_member as revenue_per_member_uplift,
        sqrt(
            treated_revenue_variance / treated_members + holdout_revenue_variance / holdout_members
        ) as revenue_per_member_uplift_se
    from rates
    where treated_members > 0 and holdout_members > 0
),

final as (
    select
        cast(sync_id as {{ dbt.type_string() }}) as sync_id,
        cast(destination as {{ dbt.type_string() }}) as destination,
        cast(audience_id as {{ dbt.type_string() }}) as audience_id,
        cast(period_start as date) as period_start,
        cast('{{ var("reporting_currency") }}' as {{ dbt.type_string() }}) as currency,
        cast(treated_members as bigint) as treated_members,
        cast(holdout_members as bigint) as holdout_members,
        cast(treated_conversions as bigint) as treated_conversions,
        cast(holdout_conversions as bigint) as holdout_conversions,
        cast(avg_observed_days as {{ double }}) as avg_observed_days,
        cast(treated_conversion_rate as {{ double }}) as treated_conversion_rate,
        cast(holdout_conversion_rate as {{ double }}) as holdout_conversion_rate,
        cast(conversion_uplift as {{ double }}) as conversion_uplift,
        cast(conversion_uplift - {{ z }} * conversion_uplift_se as {{ double }}) as conversion_uplift_ci_low,
        cast(conversion_uplift + {{ z }} * conversion_uplift_se as {{ double }}) as conversion_uplift_ci_high,
        cast(treated_revenue_per_member as {{ double }}) as treated_revenue_per_member,
        cast(holdout_revenue_per_member as {{ double }}) as holdout_revenue_per_member,
        cast(revenue_per_member_uplift as {{ double }}) as revenue_per_member_uplift,
        cast(revenue_per_member_uplift - {{ z }} * revenue_per_member_uplift_se as {{ double }})
            as revenue_per_member_uplift_ci_low,
        cast(revenue_per_member_uplift + {{ z }} * revenue_per_member_uplift_se as {{ double }})
            as revenue_per_member_uplift_ci_high,
        cast(revenue_per_member_uplift * treated_members as {{ double }}) as incremental_revenue,
        cast((revenue_per_member_uplift - {{ z }} * revenue_per_member_uplift_se) * treated_members as {{ double }})
            as incremental_revenue_ci_low,
        cast((revenue_per_member_uplift + {{ z }} * revenue_per_member_uplift_se) * treated_members as {{ double }})
            as incremental_revenue_ci_high,
        (
            treated_members < {{ var('uplift_min_group_members') | int }}
            or holdout_members < {{ var('uplift_min_group_members') | int }}
            or treated_conversions < {{ var('uplift_min_group_conversions') | int }}
            or holdout_conversions < {{ var('uplift_min_group_conversions') | int }}
        ) as too_small_to_conclude
    from effects
)

select
    *,
    not too_small_to_conclude
    and (revenue_per_member_uplift_ci_low > 0 or revenue_per_member_uplift_ci_high < 0) as is_significant
from final

{#- Money in the reporting currency (var reporting_currency, default 'EUR').
    A model joins the day's rates once per currency it converts (fx_rate_join), then converts each amount with
    to_reporting_currency. An amount already in the reporting currency needs no rate; any other amount converts
    at its date's rate from int_fx_rates_daily (cross rates via EUR; a day without a fixing uses the latest
    earlier rate, see that model) and is null when there is none: such a value is held out of every sum and
    counted in fx_conversion_gaps, never added up in its own currency. -#}

{% macro reporting_currency() -%}
    {%- set code = var('reporting_currency', 'EUR') | string | upper -%}
    {%- if modules.re.match('^[A-Z]{3}$', code) is none -%}
        {{ exceptions.raise_compiler_error("var reporting_currency=" ~ code ~ " is not an ISO 4217 code") }}
    {%- endif -%}
    '{{ code }}'
{%- endmacro %}

{#- The shop's own currency: Shopify amounts (shop money), catalogue prices and ERP unit costs are in it. -#}
{% macro shop_currency() -%}
    '{{ var('shop_currency', 'EUR') | string | upper }}'
{%- endmacro %}

{% macro fx_rate_join(currency, on_date, alias) -%}
    left join {{ ref('int_fx_rates_daily') }} as {{ alias }}
        on upper({{ currency }}) = {{ alias }}.currency
        and cast({{ on_date }} as date) = {{ alias }}.rate_date
{%- endmacro %}

{#- Units of the reporting currency per unit of `currency`: 1 for the reporting currency itself, else the rate
    joined as `alias` by fx_rate_join (null without one). -#}
{% macro fx_rate_to_reporting(currency, alias) -%}
    case
        when upper({{ currency }}) = {{ reporting_currency() }} then cast(1 as {{ type_double() }})
        else {{ alias }}.rate_to_reporting
    end
{%- endmacro %}

{% macro to_reporting_currency(amount, currency, alias) -%}
    cast({{ amount }} * {{ fx_rate_to_reporting(currency, alias) }} as decimal(18, 2))
{%- endmacro %}

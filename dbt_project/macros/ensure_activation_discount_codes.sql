{#- The discount codes the real-time path issues live in activation.discount_codes, created by that path when it
    issues its first code. The mart discount_redemptions reads them as a dbt source, which must exist to be selected
    from: create the table empty (same columns as the issuing path) when no code was issued yet. An existing table
    is never changed. -#}
{% macro ensure_activation_discount_codes() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set statements = [
        "create schema if not exists activation",
        "create table if not exists activation.discount_codes (code varchar primary key, campaign varchar, "
        ~ "customer_key varchar, checkout_id varchar, shopify_discount_id varchar, value_type varchar, "
        ~ "value decimal(18, 2), currency varchar, usage_limit integer, starts_at timestamp, expires_at timestamp, "
        ~ "created_at timestamp)",
    ] -%}
    {{ return(statements | join(';\n')) }}
{% endmacro %}

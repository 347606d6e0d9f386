{#- File drops are optional (a merchant may never send a budget plan or an orders export), but dbt sources must
    exist to be selected from. Create the empty contract tables (docs/data-contracts.md §2) when the loader has
    not created them yet; never touches a table that exists. -#}
{% macro ensure_optional_raw_tables() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set audit = "_batch_id varchar(200), _loaded_at timestamp, _source varchar(100)" -%}
    {%- set tables = {
        'file_orders': "order_id varchar(200), customer_id varchar(200), ordered_at timestamp, currency varchar(3),
            total_price decimal(18, 2), email varchar(320), financial_status varchar(40), cancelled_at timestamp,
            refunded_amount decimal(18, 2), discount_amount decimal(18, 2), sku varchar(200), quantity integer,
            line_price decimal(18, 2), line_number integer, _file_name varchar(500)",
        'file_erp_stock': "sku varchar(200), on_hand integer, cost decimal(18, 2), warehouse varchar(100),
            snapshot_at timestamp, _file_name varchar(500)",
        'file_budget_plan': "month varchar(7), channel varchar(40), planned_spend decimal(18, 2),
            planned_sessions bigint, planned_orders bigint, planned_revenue decimal(18, 2), _file_name varchar(500)",
        'file_marketplace_listings': "sku varchar(200), marketplace varchar(40), listing_id varchar(200),
            enabled boolean, _file_name varchar(500)",
        'file_privacy_requests': "customer_id bigint, email varchar(320), request_type varchar(40),
            requested_at timestamp, _file_name varchar(500)",
    } -%}
    {%- set statements = ["create schema if not exists raw"] -%}
    {%- for name, columns in tables.items() -%}
        {%- do statements.append("create table if not exists raw." ~ name ~ " (" ~ columns ~ ", " ~ audit ~ ")") -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{% endmacro %}

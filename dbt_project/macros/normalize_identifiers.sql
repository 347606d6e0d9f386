{#- Identifier normalisation for ad-platform matching (Meta Custom Audiences / Google Customer Match):
    e-mail trimmed and lower-cased; phone to E.164 digits (no '+', no spaces) using the customer's country
    calling code when the number is written nationally. -#}
{% macro normalize_email(expression) -%}
    nullif(lower(trim({{ expression }})), '')
{%- endmacro %}

{#- phone_expression: the raw phone text; calling_code / trunk_prefix: the customer's country calling code
    ('49') and national trunk prefix ('0' or ''). '+49 151 ...' and '0049 151 ...' keep their code;
    '0151 ...' drops the trunk prefix and gains the country code. -#}
{% macro normalize_phone_e164_digits(phone_expression, calling_code, trunk_prefix) -%}
    case
        when {{ phone_expression }} is null
            or regexp_replace({{ phone_expression }}, '[^0-9]', '', 'g') = ''
            then null
        when trim({{ phone_expression }}) like '+%'
            then regexp_replace({{ phone_expression }}, '[^0-9]', '', 'g')
        when regexp_replace({{ phone_expression }}, '[^0-9]', '', 'g') like '00%'
            then substr(regexp_replace({{ phone_expression }}, '[^0-9]', '', 'g'), 3)
        when {{ calling_code }} is null
            then null
        when coalesce({{ trunk_prefix }}, '') <> ''
            and regexp_replace({{ phone_expression }}, '[^0-9]', '', 'g') like {{ trunk_prefix }} || '%'
            then {{ calling_code }}
            || substr(regexp_replace({{ phone_expression }}, '[^0-9]', '', 'g'), length({{ trunk_prefix }}) + 1)
        else {{ calling_code }} || regexp_replace({{ phone_expression }}, '[^0-9]', '', 'g')
    end
{%- endmacro %}

{#- Lower-case slug usable in an audience id: 'Home & Garden' -> 'home_garden'. -#}
{% macro slugify(expression) -%}
    trim(both '_' from regexp_replace(lower({{ expression }}), '[^a-z0-9]+', '_', 'g'))
{%- endmacro %}

{#- The ad platform a session's paid traffic came from, for joining sessions to ad spend: Meta for paid social
    from Facebook/Instagram, Google Ads for paid search from Google, 'web' for everything else. -#}
{% macro ad_platform(channel, traffic_source) -%}
    case
        when {{ channel }} = 'paid_social'
            and (
                {{ traffic_source }} like 'facebook%' or {{ traffic_source }} like 'instagram%'
                or {{ traffic_source }} like 'meta%' or {{ traffic_source }} like 'fb%'
            ) then 'meta'
        when {{ channel }} = 'paid_search' and {{ traffic_source }} like 'google%' then 'google_ads'
        else 'web'
    end
{%- endmacro %}

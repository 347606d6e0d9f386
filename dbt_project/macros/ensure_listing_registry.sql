{#- The listing id registry the sync engine writes (activation.listing_ids: the id each marketplace gave a
    listing a sync created) must exist before any listing sync ran, because marketplace_listing_feed reads it:
    created empty here (dbt's on-run-start hook), with the engine's own DDL (narrowcast.activation.state,
    LISTING_IDS_DDL; a unit test keeps the two in step). Nothing is ever dropped or changed. -#}
{% macro ensure_listing_registry() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {{ return("create schema if not exists activation;
create table if not exists activation.listing_ids (
    sync_id varchar not null, marketplace varchar not null, record_key varchar not null,
    remote_id varchar not null, first_seen_at timestamp not null, last_confirmed_at timestamp not null,
    ended_at timestamp)") }}
{% endmacro %}

with

source as (
    select * from {{ source('files', 'file_partner_lists') }}
),

renamed as (
    select
        lower(trim(cast(partner_id as {{ dbt.type_string() }}))) as partner_id,
        email,
        {{ normalize_email('email') }} as email_normalized,
        consent_basis,
        lower(replace(coalesce(allowed_uses, ''), ' ', '')) as allowed_uses,
        cast(collected_at as timestamp) as collected_at,
        _file_name as file_name,
        cast(line_number as integer) as line_number,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

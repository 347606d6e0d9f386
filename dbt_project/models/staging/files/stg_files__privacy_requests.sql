with

source as (
    select * from {{ source('files', 'file_privacy_requests') }}
),

renamed as (
    select
        -- Text, exactly as the merchant wrote it: 'C-17' and '00017' are keys of their own.
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        email,
        lower(request_type) as request_type,
        cast(requested_at as timestamp) as requested_at,
        _file_name as file_name,
        cast(line_number as integer) as line_number
    from source
)

select * from renamed

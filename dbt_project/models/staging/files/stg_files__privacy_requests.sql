with

source as (
    select * from {{ source('files', 'file_privacy_requests') }}
),

renamed as (
    select
        cast(customer_id as bigint) as customer_id,
        email,
        lower(request_type) as request_type,
        cast(requested_at as timestamp) as requested_at
    from source
)

select * from renamed

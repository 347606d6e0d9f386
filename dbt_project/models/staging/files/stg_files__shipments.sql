with

source as (
    select * from {{ source('files', 'file_shipments') }}
),

renamed as (
    select
        lower(trim(marketplace)) as marketplace,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        trim(carrier) as carrier,
        cast(tracking_number as {{ dbt.type_string() }}) as tracking_number,
        cast(shipped_at as timestamp) as shipped_at,
        sku,
        cast(quantity as integer) as quantity,
        _file_name as file_name,
        cast(_loaded_at as timestamp) as loaded_at
    from source
),

-- The same package line in two files (a re-export) is one line: the file loaded last states it.
latest as (
    select
        *,
        row_number() over (
            partition by marketplace, order_id, tracking_number, sku order by loaded_at desc, file_name desc
        ) as version_rank
    from renamed
),

final as (
    select
        marketplace,
        order_id,
        carrier,
        tracking_number,
        shipped_at,
        sku,
        quantity,
        file_name,
        loaded_at
    from latest
    where version_rank = 1
)

select * from final

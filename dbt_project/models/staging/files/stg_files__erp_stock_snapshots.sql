with

source as (
    select * from {{ source('files', 'file_erp_stock') }}
),

renamed as (
    select
        sku,
        cast(on_hand as integer) as on_hand,
        cast(cost as decimal(18, 2)) as unit_cost,
        warehouse,
        cast(snapshot_at as timestamp) as snapshot_at,
        _file_name as file_name,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

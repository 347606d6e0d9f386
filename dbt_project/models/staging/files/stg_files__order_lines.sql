with

source as (
    select * from {{ source('files', 'file_orders') }}
),

renamed as (
    select
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        coalesce(cast(line_number as integer), 1) as line_number,
        -- The merchant's own customer key, text exactly as exported ('C-17', '00017' and '17' are three keys);
        -- only surrounding blanks, which CSV tools add and no key system keeps, are dropped.
        nullif(trim(cast(customer_id as {{ dbt.type_string() }})), '') as customer_ref,
        cast(ordered_at as timestamp) as ordered_at,
        upper(currency) as currency,
        cast(total_price as decimal(18, 2)) as order_total_price,
        email,
        lower(financial_status) as financial_status,
        cast(cancelled_at as timestamp) as cancelled_at,
        cast(refunded_amount as decimal(18, 2)) as order_refunded_amount,
        cast(discount_amount as decimal(18, 2)) as order_discount_amount,
        sku,
        cast(quantity as integer) as quantity,
        cast(line_price as decimal(18, 2)) as line_amount,
        -- The buyer's marketing consent (e-mail and ads) as of this order; null when the file states none.
        cast(accepts_marketing as boolean) as accepts_marketing,
        _file_name as file_name,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

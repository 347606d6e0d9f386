with

source as (
    select * from {{ source('etsy', 'etsy_receipts') }}
),

renamed as (
    select
        cast(receipt_id as {{ dbt.type_string() }}) as order_id,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at,
        lower(status) as status,
        coalesce(is_paid, false) as is_paid,
        coalesce(is_shipped, false) as is_shipped,
        cast(buyer_user_id as {{ dbt.type_string() }}) as buyer_user_id,
        buyer_email,
        -- total_price: the listings' prices x quantities; subtotal: that less discount_amt (ShopReceipt).
        cast(total_price as decimal(18, 2)) as items_price,
        cast(subtotal as decimal(18, 2)) as subtotal_price,
        cast(discount_amt as decimal(18, 2)) as total_discounts,
        cast(total_tax_cost as decimal(18, 2)) + coalesce(cast(total_vat_cost as decimal(18, 2)), 0) as total_tax,
        cast(total_shipping_cost as decimal(18, 2)) as total_shipping,
        cast(grandtotal as decimal(18, 2)) as total_price,
        upper(currency) as currency,
        cast(_loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed

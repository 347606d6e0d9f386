{#- One row per (sku, marketplace) listed in raw.file_marketplace_listings (the shop itself included as
    marketplace 'shop') or created by a listing sync (activation.listing_ids, the registry the sync engine keeps).
    Listing ids: the file's where it gives one for the (sku, marketplace) (the merchant's explicit mapping wins),
    else the registry's newest live one; a listing the registry says ended (its SKU left the catalogue) is
    withdrawn. Rules per marketplace come from the seed marketplace_rules.
    Stock: available = max(ERP on hand (latest snapshot) - open unshipped orders of every channel, 0);
    available <= end_when_at_or_below -> quantity 0 (buffer against overselling);
    else quantity = least(floor(available x stock_share), max_listed_quantity).
    Price: base price x (1 + markup_pct) + fixed_fee, raised to the next price ending in price_ending
    (macro round_to_price_ending), then clamped: never above the shop's compare-at price (the MAP/max) and
    never below the minimum-margin price cost / (1 - min_margin_pct), rounded up to the cent; the floor wins.
    status = 'withdrawn' with a reason when the quantity is 0, the listing is disabled, the product is not
    active or has no ERP stock record; otherwise 'active'. A marketplace whose rule says zero_stock = 'keep_listed'
    (eBay's out-of-stock option) keeps a listing whose stock ran out active at quantity 0 (status_reason says why).
    Currency: prices are in each marketplace's currency (seed marketplaces): the shop's price, compare-at price
    and ERP cost (var shop_currency) convert at the as-of date's rate before the rules apply, and the fixed fee
    is in the marketplace's currency. A listing whose currency has no rate is withdrawn, never priced in the
    shop's currency.
    Price basis: the shop's prices and the MAP floors are VAT-inclusive (consumer prices); a marketplace whose
    rule says prices_include_vat = false gets every price (base, compare-at, floor) divided by (1 + vat_rate)
    before the rules apply. The ERP cost is net already and stays as it is.
    MAP floor: a sku's minimum advertised price (seed minimum_advertised_prices, shop currency, VAT-inclusive)
    converts like the prices, rounded up to the cent so conversion never undercuts it. A price below it is
    clamped up to it (it wins over the compare-at cap and the minimum-margin price): the listing stays on sale
    at the lowest price allowed, status_reason says so, and map_floor is in the feed so a destination can refuse
    a row below it. -#}
with

listings as (
    select * from {{ ref('stg_files__marketplace_listings') }}
),

registered_listings as (
    select * from {{ ref('stg_activation__listing_ids') }}
),

products as (
    select * from {{ ref('int_products') }}
),

open_orders as (
    select * from {{ ref('int_open_order_quantities') }}
),

rules as (
    select * from {{ ref('marketplace_rules') }}
),

map_floors as (
    select * from {{ ref('minimum_advertised_prices') }}
),

marketplaces as (
    select * from {{ ref('marketplaces') }}
),

-- Units of each marketplace's currency per unit of the shop's, on the as-of date (cross rate via EUR).
listing_rates as (
    select
        marketplaces.marketplace,
        coalesce(upper(marketplaces.currency), {{ shop_currency() }}) as listing_currency,
        case
            when coalesce(upper(marketplaces.currency), {{ shop_currency() }}) = {{ shop_currency() }}
                then cast(1 as {{ type_double() }})
            else
                cast(listing_fx.rate_per_eur as {{ type_double() }})
                / cast(shop_fx.rate_per_eur as {{ type_double() }})
        end as shop_to_listing_rate
    from marketplaces
    {{ fx_rate_join('marketplaces.currency', as_of_date(), 'listing_fx') }}
    {{ fx_rate_join(shop_currency(), as_of_date(), 'shop_fx') }}
),

latest_listing as (
    select
        *,
        row_number() over (partition by sku, marketplace order by loaded_at desc, file_name desc) as listing_order
    from listings
),

-- The listings file's row per (sku, marketplace): its latest file.
file_listings as (
    select * from latest_listing
    where listing_order = 1
),

-- Two syncs may list one SKU on the same marketplace: a live listing first, then the latest confirmed.
ranked_registered as (
    select
        *,
        row_number() over (
            partition by sku, marketplace order by is_ended asc, last_confirmed_at desc, sync_id asc
        ) as registered_order
    from registered_listings
),

latest_registered as (
    select * from ranked_registered
    where registered_order = 1
),

-- A file row with a listing id wins over the registry; one without an id takes the registry's (its enabled
-- flag still applies), so the merchant can switch off a listing Narrowcast created.
all_listings as (
    select
        coalesce(file_listings.sku, latest_registered.sku) as sku,
        coalesce(file_listings.marketplace, latest_registered.marketplace) as marketplace,
        coalesce(file_listings.listing_id, latest_registered.listing_id) as listing_id,
        coalesce(file_listings.is_enabled, true) as is_enabled,
        coalesce(file_listings.listing_id is null and latest_registered.is_ended, false) as is_ended,
        case
            when file_listings.listing_id is not null then 'listings_file'
            when latest_registered.listing_id is not null then 'registry'
        end as listing_id_source
    from file_listings
    full outer join latest_registered
        on file_listings.sku = latest_registered.sku
        and file_listings.marketplace = latest_registered.marketplace
),

stocked as (
    select
        all_listings.sku,
        all_listings.marketplace,
        all_listings.listing_id,
        all_listings.listing_id_source,
        all_listings.is_enabled and not all_listings.is_ended as is_enabled,
        all_listings.is_ended,
        products.sku is not null as is_known_product,
        products.status as product_status,
        coalesce(listing_rates.listing_currency, {{ shop_currency() }}) as listing_currency,
        -- A marketplace the seed does not list has no rules either (withdrawn below): priced as the shop.
        case
            when listing_rates.marketplace is null then cast(1 as {{ type_double() }})
            else listing_rates.shop_to_listing_rate
        end as shop_to_listing_rate,
        products.price as shop_price,
        products.compare_at_price as shop_compare_at_price,
        products.unit_cost as shop_unit_cost,
        map_floors.map_floor as shop_map_floor,
        products.on_hand,
        coalesce(open_orders.open_order_quantity, 0) as open_order_quantity,
        case
            when products.on_hand is null then 0
            when products.on_hand - coalesce(open_orders.open_order_quantity, 0) < 0 then 0
            else products.on_hand - coalesce(open_orders.open_order_quantity, 0)
        end as available_quantity,
        rules.marketplace is not null as has_rules,
        rules.stock_share,
        rules.max_listed_quantity,
        rules.end_when_at_or_below,
        rules.markup_pct,
        rules.fixed_fee,
        rules.price_ending,
        rules.min_margin_pct,
        coalesce(rules.zero_stock, 'end') = 'keep_listed' as keeps_listed_at_zero,
        -- A rule without a basis publishes VAT-inclusive prices, as every marketplace did before the column.
        case
            when coalesce(rules.prices_include_vat, true) then cast(1 as {{ type_double() }})
            else 1 + cast(rules.vat_rate as {{ type_double() }})
        end as vat_divisor
    from all_listings
    left join products on all_listings.sku = products.sku
    left join open_orders on all_listings.sku = open_orders.sku
    left join rules on all_listings.marketplace = rules.marketplace
    left join listing_rates on all_listings.marketplace = listing_rates.marketplace
    left join map_floors on all_listings.sku = map_floors.sku
),

converted as (
    select
        *,
        cast(shop_price * shop_to_listing_rate / vat_divisor as decimal(18, 2)) as base_price,
        cast(shop_compare_at_price * shop_to_listing_rate / vat_divisor as decimal(18, 2)) as compare_at_price,
        cast(shop_unit_cost * shop_to_listing_rate as decimal(18, 2)) as unit_cost,
        cast(ceiling(shop_map_floor * shop_to_listing_rate / vat_divisor * 100) / 100 as decimal(18, 2)) as map_floor
    from stocked
),

quantified as (
    select
        *,
        case
            when available_quantity <= end_when_at_or_below then 0
            when floor(available_quantity * stock_share) > max_listed_quantity then max_listed_quantity
            else cast(floor(available_quantity * stock_share) as integer)
        end as rule_quantity,
        {{ round_to_price_ending('base_price * (1 + markup_pct) + fixed_fee', 'price_ending') }} as rounded_price,
        cast(ceiling(unit_cost / (1 - min_margin_pct) * 100) / 100 as decimal(18, 2)) as min_margin_price,
        'available ' || cast(available_quantity as {{ dbt.type_string() }})
        || ' <= end-when buffer ' || cast(end_when_at_or_below as {{ dbt.type_string() }}) as buffer_reason
    from converted
),

priced as (
    select
        *,
        case
            when min_margin_price is not null and rounded_price < min_margin_price then min_margin_price
            -- The floor was checked above, so here the compare-at price is only a cap when it is above the floor.
            when compare_at_price is not null and rounded_price > compare_at_price
                and (min_margin_price is null or compare_at_price >= min_margin_price) then compare_at_price
            when compare_at_price is not null and rounded_price > compare_at_price then min_margin_price
            else rounded_price
        end as rule_price
    from quantified
),

floored as (
    select
        *,
        case
            when map_floor is not null and rule_price < map_floor then map_floor
            else rule_price
        end as publish_price
    from priced
),

final as (
    select
        cast(sku as text) as sku,
        cast(marketplace as text) as marketplace,
        cast(listing_id as text) as listing_id,
        cast(
            case
                when not is_enabled or not is_known_product or not has_rules or shop_to_listing_rate is null
                    or coalesce(product_status, '') <> 'active' or on_hand is null then 0
                else rule_quantity
            end as integer
        ) as quantity,
        cast(publish_price as decimal(18, 2)) as price,
        cast(listing_currency as text) as currency,
        cast(case
            when not is_enabled or not is_known_product or not has_rules or shop_to_listing_rate is null
                or coalesce(product_status, '') <> 'active' or on_hand is null then 'withdrawn'
            when rule_quantity = 0 and not keeps_listed_at_zero then 'withdrawn'
            else 'active'
        end as text) as status,
        cast(case
            when is_ended then 'listing ended (sku left the catalogue)'
            when not is_enabled then 'listing disabled'
            when not is_known_product then 'sku not in the shop catalogue'
            when not has_rules then 'no rules for marketplace ' || marketplace
            when shop_to_listing_rate is null then 'no exchange rate for ' || listing_currency
            when coalesce(product_status, '') <> 'active' then 'product ' || coalesce(product_status, 'unknown')
            when on_hand is null then 'no ERP stock record'
            when available_quantity <= end_when_at_or_below then buffer_reason
            when rule_quantity = 0 then 'share of available rounds down to 0'
            when rule_price < map_floor then 'price raised to MAP floor'
            when rounded_price < min_margin_price then 'price raised to minimum margin'
            when rounded_price > compare_at_price then 'price capped at compare-at price'
            else 'in stock'
        end as text) as status_reason,
        cast(available_quantity as integer) as available_quantity,
        cast(on_hand as integer) as on_hand,
        cast(open_order_quantity as integer) as open_order_quantity,
        cast(base_price as decimal(18, 2)) as base_price,
        cast(map_floor as decimal(18, 2)) as map_floor,
        cast(listing_id_source as text) as listing_id_source
    from floored
)

select * from final

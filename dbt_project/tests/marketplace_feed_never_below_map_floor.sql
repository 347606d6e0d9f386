-- A minimum advertised price is a contract with the brand: no feed row may carry a price below its floor.
select
    sku,
    marketplace,
    price,
    map_floor
from {{ ref('marketplace_listing_feed') }}
where price < map_floor

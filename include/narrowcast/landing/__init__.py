"""The immutable landing zone: extracted pages and files as partitioned Parquet batches."""

from narrowcast.contracts.timestamps import utc_naive
from narrowcast.landing.zone import Batch, LandingZone, records_to_table

__all__ = ["Batch", "LandingZone", "records_to_table", "utc_naive"]

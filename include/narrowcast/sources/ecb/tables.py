"""The ECB source declares its raw table (euro reference rates per day and currency) and how it loads.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from datetime import timedelta

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import EntitySpec, SourceSpec

RATE = "DECIMAL(18,6)"

# A window replaces its days whole (replace_partition on rate_date): a rerun or a backfill never duplicates, and a
# rate the ECB corrected replaces the old one. Days without a rate (weekends, TARGET holidays) simply hold none.
FX_RATES = EntitySpec(
    "fx_rates",
    {"rate_date": "DATE", "currency": "VARCHAR", "rate_per_eur": RATE, "source": "VARCHAR"},
    key=("rate_date", "currency"),
    load_mode="replace_partition",
    partition_column="rate_date",
    required=("rate_per_eur", "source"),
    not_null=("rate_per_eur",),
    non_negative=("rate_per_eur",),
    not_future=("rate_date",),
    currency_columns=("currency",),
    accepted_values={"source": ("ecb",)},
    notes={"rate_per_eur": "units of the currency per 1 EUR, as the ECB publishes it",
           "source": "'ecb' (rates from a fx_rates_*.csv inbox file are in raw.file_fx_rates)"},
)

SOURCE = SourceSpec(
    "ecb",
    connection_pages("narrowcast.sources.ecb.extract:extract"),
    (FX_RATES,),
    lookback=timedelta(days=3),  # a rate published after a run (16:00 CET, or a late holiday) is read next run
    # One window covers any backfill: the whole history is one file, read once.
    catch_up_step=timedelta(days=366 * 30),
    connection_id="narrowcast_ecb",
)

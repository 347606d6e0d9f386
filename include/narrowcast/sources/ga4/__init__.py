"""GA4 BigQuery-export files (NDJSON or Parquet per event_date) flattened into the ga4_* raw tables."""

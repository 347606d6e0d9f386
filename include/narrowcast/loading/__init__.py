"""Loading landed batches into the warehouse raw schema (DDL, merge, replace-by-partition)."""

"""Erasure of a person's data after a deletion request: raw tables, landing files, quarantine, re-ingestion."""

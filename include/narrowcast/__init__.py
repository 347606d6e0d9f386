"""Narrowcast: an open-source marketing data platform for e-commerce (extract, model, activate).

The package is plain Python: it never imports Airflow, so every part is testable on its own.
"""

__version__ = "0.1.0"

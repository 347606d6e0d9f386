"""Airflow glue for Narrowcast: the few pieces that must import Airflow (notifiers).

Everything else lives in the plain-Python ``narrowcast`` package.
"""

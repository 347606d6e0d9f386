"""Airflow glue for Narrowcast: the pieces that must import Airflow (task wrappers, assets, connections, notifiers,
and the provider whose hooks give the UI's connection "Test" button the doctor's checks).

Everything else lives in the plain-Python ``narrowcast`` package.
"""

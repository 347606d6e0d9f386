"""The marketing dashboard: read-only queries on the marts, served as JSON + charts by a FastAPI app.

The Airflow plugin in ``plugins/`` mounts :func:`narrowcast.dashboard.app.create_app` inside the Airflow UI.
"""

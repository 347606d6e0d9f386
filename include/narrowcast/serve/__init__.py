"""Small HTTP services beside the pipeline: the Shopify webhook receiver and the profile read API.

Each is a Starlette app served by uvicorn (``narrowcast serve webhooks`` / ``narrowcast serve profiles``); neither
touches the warehouse while serving: webhooks land as files, profiles are read from an exported snapshot.
"""

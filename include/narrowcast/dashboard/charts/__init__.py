"""The dashboard's read-only SQL, one module per section; each chart function returns a JSON-ready dict.

Every chart takes an open (read-only) :class:`~narrowcast.warehouse.Warehouse` and
:class:`~narrowcast.dashboard.filters.Filters`; none writes anything.
"""

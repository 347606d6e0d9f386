"""Posts connection bodies to Airflow's ``POST /api/v2/connections/test`` (the UI's Test button) in-process and
prints each answer, as JSON lines.

Run in a subprocess with its own AIRFLOW_HOME (database migrated, connection tests enabled, every user admin) so
the tests never touch a real Airflow installation.
"""

from __future__ import annotations

import json
import sys

from airflow.api_fastapi.app import create_app
from fastapi.testclient import TestClient

client = TestClient(create_app("core"))
for body in json.loads(sys.argv[1]):
    response = client.post("/api/v2/connections/test", json=body)
    print(json.dumps({"http_status": response.status_code, **response.json()}))

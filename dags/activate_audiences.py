"""
### Activate audiences: segments → Meta Custom Audiences, Google Customer Match, Klaviyo

Runs when dbt has published fresh marts (`audience_members`, `customer_segments`,
`customer_recommendations`). One mapped task per audience sync declared in `include/syncs/` (group
`audiences`): each computes added / changed / removed members against the state the destination last
confirmed, sends only the difference in batches within the destination's rate limit, and logs every run in
`activation.sync_runs`. Google processes Customer Match uploads as jobs that finish hours later: each run first
asks how the earlier jobs ended and sends the rows of a failed job again (`jobs_pending`, `jobs_failed` in
`activation.sync_runs`, reasons in `activation.sync_rejections`). Re-run one sync by clearing its mapped task;
pause a sync with `enabled: false` in its YAML. Trigger with run conf `{"dry_run": true}` to plan without sending.

A mirror sync that would remove more than its `max_remove_share` of the members fails without sending; trigger
with `{"confirm_removals": ["<sync_id>"]}` once the removals are checked. An invalid YAML disables only its sync:
its mapped task fails at once naming the file and key (and alerts), the other syncs run.

The syncs run side by side, outside the one-slot `narrowcast_warehouse` pool: a sync holds the warehouse only in
short sessions (its plan, its batches' outcomes), waiting for DuckDB's writer lock like any writer, and never
while it is paced by a destination. The syncs of one connection share its account's rate budget, so they send one
after another (each waits for the connection's lease in `activation.sync_leases`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag, task

from narrowcast_airflow.assets import MART_ASSETS
from narrowcast_airflow.defaults import default_args


@dag(
    dag_id="activate_audiences",
    schedule=[MART_ASSETS["audience_members"]],
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["narrowcast", "activate", "audiences"],
    doc_md=__doc__,
)
def activate_audiences():
    @task
    def audience_syncs() -> list[str]:
        from narrowcast_airflow.tasks import list_sync_ids

        return list_sync_ids("audiences")

    @task(map_index_template="{{ sync_id }}")
    def sync(sync_id: str, **context):
        from narrowcast_airflow.tasks import run_sync

        return run_sync(sync_id, context)

    sync.expand(sync_id=audience_syncs())


activate_audiences()

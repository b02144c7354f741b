"""The `deliver-alerts` flow: send what the outbox holds, without fetching or scoring anything.

`moderate` runs the same tasks at its end; this flow is for a tighter schedule than moderation's (a
channel that was down gets its alerts within minutes of coming back) and for `moderation alerts deliver`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from moderation import pipeline
from moderation.alerts.outbox import DeliveryReport
from moderation.config import load_settings
from moderation.failure_logging import one_line_for_expected_failures

one_line_for_expected_failures()

# Channel failures never fail these tasks (the outbox records them and retries with backoff); the task
# retries are for the database.
check_backlog = task(pipeline.check_backlog).with_options(
    name="check queue backlog", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=exponential_backoff(2)
)
deliver_alerts_task = task(pipeline.deliver_alerts).with_options(
    name="deliver alerts", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=exponential_backoff(2)
)


@flow(name="deliver-alerts", log_prints=False)
def deliver_alerts(config_path: str | None = None) -> DeliveryReport:
    settings = load_settings(config_path)
    check_backlog(settings.database.url, settings.alerts, datetime.now(UTC))
    report = deliver_alerts_task(settings.database.url, settings.alerts)
    get_run_logger().info("alerts: %d sent, %d to retry, %d failed", report.delivered, report.retrying, report.failed)
    return report


if __name__ == "__main__":
    deliver_alerts()

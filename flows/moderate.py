"""The `moderate` flow: read what is new in each source, score it with its thread, queue what needs a
moderator, and alert the moderators when something is severe, piling on, or waiting too long."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE

from flows.alerts import check_backlog, deliver_alerts_task
from flows.runners import task_runner_for
from moderation import pipeline, run_report
from moderation.config import load_settings
from moderation.failure_logging import one_line_for_expected_failures
from moderation.pipeline import BatchOutcome, RunSummary

one_line_for_expected_failures()  # a source that is down is one line in the logs, not a traceback

# Inputs are large and results are cheap to recompute, so nothing is cached. Retries sit on reading
# sources (config: runner.retries); a failed scoring batch is simply picked up by the next run.
ingest_source = task(pipeline.ingest).with_options(name="ingest source", cache_policy=NO_CACHE)
plan_batches = task(pipeline.plan_batches).with_options(
    name="plan scoring batches", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 5, 15]
)
score_batch = task(pipeline.score_batch).with_options(name="score batch, enqueue, write alerts", cache_policy=NO_CACHE)
emit_flagged_post_events = task(run_report.emit_flagged_post_events).with_options(
    name="emit flagged-post events", cache_policy=NO_CACHE
)
deliver_site_actions = task(pipeline.deliver_site_actions).with_options(
    name="apply decisions on the sites", cache_policy=NO_CACHE
)
publish_run_summary = task(run_report.publish_run_summary).with_options(
    name="publish run summary", cache_policy=NO_CACHE
)


@flow(name="moderate", log_prints=False)
def moderate(config_path: str | None = None) -> RunSummary:
    settings = load_settings(config_path)
    db_url = settings.database.url
    now = datetime.now(UTC)
    summary = RunSummary()

    # Each source, page by page since its watermark; one that is down fails alone, after its retries.
    reading = ingest_source.with_options(
        retries=settings.runner.retries, retry_delay_seconds=settings.runner.retry_delay_seconds
    )
    futures = {source.name: reading.submit(db_url, source, now, settings.policy) for source in settings.sources}
    for name, future in futures.items():
        report = future.result(raise_on_failure=False)
        if isinstance(report, BaseException):
            summary.add_failure(name, report)
        else:
            summary.add_ingest(report)

    # Everything without a score from this scorer, in batches spread over the configured task runner.
    scoring = score_new_comments.with_options(task_runner=task_runner_for(settings.runner))
    summary.add_batches(scoring(config_path, now))

    # Act on the sites: pre-moderation holds from this run, moderators' decisions since the last one.
    summary.site_actions = deliver_site_actions(db_url, settings.sources, settings.alerts.delivery)

    # Tell the moderators: backlog check, then every alert that is due (earlier runs' included).
    summary.alerts_written += check_backlog(db_url, settings.alerts, now)
    summary.alerts = deliver_alerts_task(db_url, settings.alerts)
    emit_flagged_post_events(summary)
    publish_run_summary(summary, settings.web.public_url())

    get_run_logger().info(
        "scored %d comments, flagged %d, alerts sent %d, decisions applied on sites %d; sources failed: %s",
        summary.scored,
        summary.flagged,
        summary.alerts.delivered,
        summary.site_actions.applied,
        summary.failed or "none",
    )
    summary.raise_for_failed_sources()
    return summary


# Prefect stores a flow run's parameters for anyone with its UI to read: this flow gets the config file,
# not the database URL (which may hold a password), and reads the settings itself.
@flow(name="score new comments", log_prints=False)
def score_new_comments(config_path: str | None, now: datetime) -> list[BatchOutcome]:
    settings = load_settings(config_path)
    db_url, scoring, policy, alerts = settings.database.url, settings.scoring, settings.policy, settings.alerts
    batches = plan_batches(db_url, scoring)
    outcomes = score_batch.map(
        unmapped(db_url),
        batches,
        unmapped(scoring),
        unmapped(policy),
        unmapped(now),
        unmapped(alerts),
        unmapped(settings.sources),
    )
    outcomes.wait()  # every batch gets its chance before a failed one fails the run
    return outcomes.result()


if __name__ == "__main__":
    moderate()

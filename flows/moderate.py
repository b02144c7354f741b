"""The `moderate` flow: fetch new comments, score them with their thread, queue what needs a moderator,
alert the moderators when something is severe, piling on, or waiting too long."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.alerts import check_backlog, deliver_alerts_task
from moderation import pipeline, run_report
from moderation.config import load_settings
from moderation.pipeline import RunSummary

# Inputs are large and results are cheap to recompute, so nothing is cached; retries only on I/O.
RETRY_DELAYS: list[float] = [1, 5, 15]

fetch_new_comments = task(pipeline.fetch_new).with_options(
    name="fetch new comments", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=RETRY_DELAYS
)
store_comments = task(pipeline.store_batch).with_options(
    name="store comments", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=RETRY_DELAYS
)
next_unscored = task(pipeline.next_unscored).with_options(
    name="next unscored batch", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=RETRY_DELAYS
)
score_and_decide = task(pipeline.score_and_decide).with_options(name="score and decide", cache_policy=NO_CACHE)
enqueue_flagged = task(pipeline.enqueue).with_options(
    name="save scores, enqueue flagged, write alerts",
    cache_policy=NO_CACHE,
    retries=3,
    retry_delay_seconds=RETRY_DELAYS,
)
advance_watermark = task(pipeline.advance_watermark).with_options(
    name="advance watermark", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=RETRY_DELAYS
)
emit_flagged_post_events = task(run_report.emit_flagged_post_events).with_options(
    name="emit flagged-post events", cache_policy=NO_CACHE
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

    batches = []
    for source in settings.sources:
        batch = fetch_new_comments(db_url, source)
        summary.add_ingest(source.name, store_comments(db_url, batch, now), batch)
        batches.append(batch)

    last_row_id = 0
    while unscored := next_unscored(db_url, settings.scoring, last_row_id):
        results = score_and_decide(db_url, unscored, settings.scoring, settings.policy)
        summary.add_results(enqueue_flagged(db_url, results, settings.scoring, now, settings.alerts), results)
        last_row_id = unscored[-1].row_id

    summary.alerts_written += check_backlog(db_url, settings.alerts, now)
    summary.alerts = deliver_alerts_task(db_url, settings.alerts)
    emit_flagged_post_events(summary)

    for batch in batches:
        advance_watermark(db_url, batch, now)

    publish_run_summary(summary)
    get_run_logger().info(
        "scored %d comments, flagged %d, alerts sent %d", summary.scored, summary.flagged, summary.alerts.delivered
    )
    return summary


if __name__ == "__main__":
    moderate()

"""The pipeline's steps as plain functions; flows/moderate.py strings them together as Prefect tasks.

ingest (per source: page since watermark -> store -> advance watermark, page after page)
-> plan batches (id ranges of unscored comments)
-> per batch, anywhere a task runner puts it: claim -> load threads -> score -> decide -> save + enqueue + alerts
-> backlog check -> deliver alerts
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moderation.alerts.channels import build_channels
from moderation.alerts.outbox import DeliveryReport, backoff, deliver_due
from moderation.alerts.triggers import backlog_alert, queue_alert_rule
from moderation.config import AlertsSettings, DeliverySettings, PolicySettings, ScoringSettings, SourceSettings
from moderation.errors import ConfigError, SiteActionError, SourcesFailedError
from moderation.models import (
    Comment,
    CommenterRecord,
    CommentScore,
    Decision,
    FlaggedItem,
    InThread,
    Report,
    SiteAction,
    all_scores,
)
from moderation.policy import decide
from moderation.policy.per_source import policies_by_source, policy_for
from moderation.policy.phases import report_rule
from moderation.policy.premoderation import site_plan
from moderation.scoring import load_scorer
from moderation.scoring.isolation import ScoringFailed, score_isolated
from moderation.sources import Batch, open_source
from moderation.sources.actions import Applier, build_applier
from moderation.stopping import stop_requested
from moderation.storage import commenters, outbox, reports, site_actions, store
from moderation.storage.engine import Database, database
from moderation.storage.store import IngestCounts, PurgeCounts, RowRange, StoredComment

Result = tuple[StoredComment, CommentScore, Decision]
LISTED = 50
"""At most this many rejected records and flagged comments are listed in a summary (all are counted)."""


# ---- ingest -------------------------------------------------------------------------------------


@dataclass
class IngestReport:
    source: str
    counts: IngestCounts = field(default_factory=IngestCounts)
    pages: int = 0
    rejected: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    skipped: str | None = None
    """Why nothing was read (another run was reading this source)."""
    seconds: float = 0.0

    def add_page(self, counts: IngestCounts, page: Batch) -> None:
        self.pages += 1
        for name in ("new", "updated", "unchanged", "rejected", "closed_by_site"):
            setattr(self.counts, name, getattr(self.counts, name) + getattr(counts, name))
        self.counts.repaired += len(page.repaired)
        room = LISTED - len(self.rejected)
        self.rejected.extend(f"{r.location}: {r.error}" for r in page.rejected[: max(room, 0)])
        self.repaired.extend(page.repaired[: max(LISTED - len(self.repaired), 0)])


def ingest(db_url: str, source: SourceSettings, now: datetime, policy: PolicySettings | None = None) -> IngestReport:
    """Read the source page by page since its watermark; store each page, then advance the watermark past it.

    Reader reports the source gives on comments already scored do what `policy.reports` says (without a
    policy they are stored, and count when the comment is next scored).

    A crash loses nothing: the next run re-reads from the last watermark and the inserts are idempotent.
    Two runs never read one source at once (PostgreSQL advisory lock); the second one skips it.
    """
    started = time.perf_counter()
    db = database(db_url)
    report = IngestReport(source.name)
    with store.source_lock(db, source.name) as mine:
        if not mine:
            report.skipped = "another run is reading it"
            return report
        rule = report_rule(policy) if policy is not None else None
        for page in open_source(source, now).pages(store.get_watermark(db, source.name)):
            report.add_page(store.save_batch(db, page, now, rule), page)
            if page.watermark:
                store.set_watermark(db, source.name, page.watermark, now)
    report.seconds = time.perf_counter() - started
    return report


# ---- scoring ------------------------------------------------------------------------------------


@dataclass
class BatchOutcome:
    scored: int = 0
    flagged: int = 0
    flagged_items: list[FlaggedItem] = field(default_factory=list)
    by_label: Counter[str] = field(default_factory=Counter)
    alerts: int = 0
    """Alert-outbox rows written with this batch's queue rows (one per alert per channel)."""
    site_actions: int = 0
    """Site actions written for the batch's own decisions (pre-moderation holds)."""
    failed: int = 0
    """Comments the scorer raised on alone (recorded in scoring_failures; the others were scored)."""
    failed_items: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=lambda: {"read": 0.0, "score": 0.0, "write": 0.0})
    left_for_next_run: bool = False
    """Skipped because the run was asked to stop (SIGTERM) before the batch started."""


def plan_batches(db_url: str, scoring: ScoringSettings) -> list[RowRange]:
    """Id ranges of the comments this scorer has not scored yet, `scoring.batch_size` comments each."""
    scorer = load_scorer(scoring.scorer, scoring)
    return store.unscored_ranges(database(db_url), scorer.version, scoring.batch_size)


def score_batch(
    db_url: str,
    rows: RowRange,
    scoring: ScoringSettings,
    policy: PolicySettings,
    now: datetime,
    alerts: AlertsSettings | None = None,
    sources: Sequence[SourceSettings] = (),
) -> BatchOutcome:
    """Score, decide and save one range of comments; runs wherever the task runner sends it.

    Saving is idempotent and, on PostgreSQL, the comments are locked while they are scored, so runs
    that overlap never score or queue a comment twice.
    """
    outcome = BatchOutcome()
    if stop_requested():
        outcome.left_for_next_run = True  # not claimed: the next run's plan includes these comments
        return outcome
    scorer = load_scorer(scoring.scorer, scoring)
    rule = queue_alert_rule(alerts, policy.urgent_labels) if alerts is not None else None
    clock = time.perf_counter()
    since = now - timedelta(days=policy.commenters.window_days)
    with store.claim_unscored(database(db_url), scorer.version, rows, now, since) as claim:
        if not claim.comments:
            return outcome
        outcome.seconds["read"], clock = time.perf_counter() - clock, time.perf_counter()
        scores = score_isolated(scorer, [InThread(item.comment, claim.threads[item.row_id]) for item in claim.comments])
        outcome.seconds["score"], clock = time.perf_counter() - clock, time.perf_counter()
        own = policies_by_source(policy, sources)
        results = [
            (item, score, _decide(claim, item, score, policy_for(item.source, policy, own)))
            for item, score in zip(claim.comments, scores, strict=True)
            if isinstance(score, CommentScore)
        ]
        failures = [
            (item, score.error)
            for item, score in zip(claim.comments, scores, strict=True)
            if isinstance(score, ScoringFailed)
        ]
        counts = claim.save(
            results,
            scorer.name,
            scorer.version,
            now,
            rule,
            site_plan=site_plan(sources),
            failures=failures,
            report_rule=report_rule(policy),
        )
    outcome.failed = len(failures)
    outcome.failed_items = [failure_summary(item, error) for item, error in failures[:LISTED]]
    outcome.seconds["write"] = time.perf_counter() - clock
    outcome.scored, outcome.flagged, outcome.alerts = counts.scored, len(counts.queued), counts.alerts
    outcome.site_actions = counts.site_actions
    flagged = flagged_summary((r for r in results if r[0].row_id in counts.queued), counts.queue_items, now)
    outcome.by_label.update(label for item in flagged for label in item.reasons)
    outcome.flagged_items = flagged[:LISTED]
    return outcome


def record_scored(
    db: Database,
    batch: Batch,
    results: Sequence[tuple[Comment, CommentScore, Decision]],
    scorer: str,
    scorer_version: str,
    now: datetime,
    policy: PolicySettings,
    alerts: AlertsSettings | None = None,
) -> int:
    """Store comments scored elsewhere (`moderation api`) as the flow would have: the comments and posts of
    `batch`, then each comment's score, decision, queue item (if flagged), audit row and alerts. Returns how
    many comments were queued. Idempotent like the flow: the same text sent twice is stored and queued once.
    """
    store.save_batch(db, batch, now)
    by_id = {
        stored.comment.id: stored for stored in store.stored_comments(db, batch.source, [c.id for c, _, _ in results])
    }
    rows = [(by_id[c.id], score, decision) for c, score, decision in results if c.id in by_id]
    rule = queue_alert_rule(alerts, policy.urgent_labels) if alerts is not None else None
    counts = store.save_results(db, rows, scorer, scorer_version, now, rule)
    return len(counts.queued)


def commenter_records(
    db: Database, source: str, comments: Sequence[Comment], policy: PolicySettings, now: datetime
) -> dict[str, CommenterRecord]:
    """Comment id -> its author's record (state and history on `source`), for comments decided before they are
    stored (`moderation api`), so a banned or always-review commenter is treated there as in the flow."""
    authors = [
        commenters.Author(position, source, comment.author_id, comment.author_email_hash)
        for position, comment in enumerate(comments)
        if comment.author_id or comment.author_email_hash
    ]
    if not authors:  # anonymous comments: no database round trip
        return {}
    since = now - timedelta(days=policy.commenters.window_days)
    with db.session() as session:
        records = commenters.records_before_storing(session, authors, now, since)
    return {comments[position].id: record for position, record in records.items()}


def _decide(claim: store.Claim, item: StoredComment, score: CommentScore, policy: PolicySettings) -> Decision:
    commenter, reported = claim.commenters.get(item.row_id), claim.report_counts.get(item.row_id, 0)
    return decide(item.comment, score, policy, item.source, commenter, reported)


def add_reports(
    db_url: str,
    source: str,
    comment_id: str,
    new_reports: Sequence[Report],
    policy: PolicySettings,
    now: datetime,
) -> reports.ReportOutcome:
    """Add readers' reports to a stored comment (for `POST /v1/reports` and anything else that collects them).

    `comment_id` is the comment's id on its site, as the source gives it. The reports accumulate; an open queue
    item for the comment's current text gets `reported` with the new total and a higher priority; a comment
    without one is queued once it has `policy.reports.queue_at` reports, whatever its score (a comment not
    scored yet is judged with its reports when it is). A decided item is left as decided. Raises UnknownItem
    when the comment is not stored yet.
    """
    return reports.add(database(db_url), source, comment_id, new_reports, now, report_rule(policy))


def check_backlog(db_url: str, alerts: AlertsSettings, now: datetime) -> int:
    """Write a backlog alert when the review queue is too long or too old; returns outbox rows written."""
    if not alerts.channels_for("backlog"):
        return 0
    db = database(db_url)
    pending, oldest = outbox.pending_backlog(db)
    draft = backlog_alert(pending, oldest, alerts, now)
    return outbox.record_alerts(db, [draft], now) if draft else 0


def deliver_alerts(
    db_url: str,
    alerts: AlertsSettings,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> DeliveryReport:
    """Send the alerts that are due. With no channel configured nothing is sent and nothing is lost."""
    if not alerts.channels:
        return DeliveryReport()
    channels = build_channels(alerts, os.environ if environ is None else environ)
    when = now or datetime.now(UTC)
    return deliver_due(database(db_url), channels, alerts.base_url, alerts.delivery, when)


@dataclass
class ActionReport:
    applied: int = 0
    skipped: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    """One line per action that failed: id, source, what went wrong (never a secret)."""


def deliver_site_actions(
    db_url: str,
    sources: Sequence[SourceSettings],
    delivery: DeliverySettings,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> ActionReport:
    """Apply every due decision on its comment's site, each once, in order per comment."""
    db = database(db_url)
    when = now or datetime.now(UTC)
    token = uuid.uuid4().hex
    stale = when - timedelta(minutes=delivery.claim_timeout_minutes)
    claimed = site_actions.claim_due(db, when, token=token, limit=delivery.batch_size, stale_before=stale)
    by_name = {source.name: source for source in sources}
    appliers: dict[str, Applier | None] = {}
    report = ActionReport()
    for action in claimed:
        if site_actions.blocking_action(db, action) is not None:
            # an earlier decision on this comment is not on the site yet: this one must not overtake it
            site_actions.release(db, action.id, token, when + backoff(1, delivery))
            report.retrying += 1
            continue
        try:
            applier = _applier(appliers, by_name.get(action.source), environ)
            applied = applier.apply(action) if applier is not None else None
        except SiteActionError as exc:
            _action_failed(db, action, token, when, delivery, report, str(exc), exc.permanent, exc.delay_asked(when))
        except ConfigError as exc:
            _action_failed(db, action, token, when, delivery, report, str(exc), True, None)
        except Exception as exc:  # one malformed action must not stop the others; it stays visible as failed
            reason = f"could not apply: {type(exc).__name__}: {exc}"
            _action_failed(db, action, token, when, delivery, report, reason, True, None)
        else:
            if applied is None or applier is None:
                why = _nothing_to_do(by_name.get(action.source), action)
                site_actions.mark_skipped(db, action.id, token, when, why)
                report.skipped += 1
            else:
                site_actions.mark_applied(db, action.id, token, when, applied, applier.site_status(applied))
                report.applied += 1
    return report


def _applier(
    cache: dict[str, Applier | None], source: SourceSettings | None, environ: Mapping[str, str] | None
) -> Applier | None:
    if source is None:
        return None
    if source.name not in cache:
        cache[source.name] = build_applier(source, os.environ if environ is None else environ)
    return cache[source.name]


def _nothing_to_do(source: SourceSettings | None, action: SiteAction) -> str:
    if source is None:
        return f"source {action.source} is not in the config"
    if source.actions is None:
        return f"source {action.source} has no [sources.actions]: decisions stay here"
    return f"a {action.decision} changes nothing on the site"


def _action_failed(
    db: Database,
    action: SiteAction,
    token: str,
    now: datetime,
    delivery: DeliverySettings,
    report: ActionReport,
    reason: str,
    permanent: bool,
    retry_after: float | None,
) -> None:
    report.errors.append(f"action {action.id} on {action.source} comment {action.comment_id}: {reason}")
    if permanent:
        site_actions.mark_failed(db, action.id, token, reason)
        report.failed += 1
    else:
        site_actions.schedule_retry(
            db, action.id, token, now + backoff(action.attempts + 1, delivery, retry_after), reason
        )
        report.retrying += 1


def failure_summary(stored: StoredComment, error: str) -> dict[str, Any]:
    return {"id": stored.comment.id, "source": stored.source, "error": error}


def flagged_summary(results: Iterable[Result], queue_items: Mapping[int, int], now: datetime) -> list[FlaggedItem]:
    """The queued comments among `results` (`queue_items`: comment row id -> its new queue item id)."""
    return [
        FlaggedItem(
            item_id=queue_items[stored.row_id],
            source=stored.source,
            post_id=stored.comment.post_id,
            post_title=None,
            comment_id=stored.comment.id,
            author=stored.comment.author,
            text=stored.comment.text,
            reasons=dict(decision.reasons),
            scores=all_scores(score.scores, score.attack_on_commenter),
            attack_target=decision.attack_target,
            priority=decision.priority,
            at=stored.comment.created_at or now,
        )
        for stored, score, decision in results
        if decision.flagged and stored.row_id in queue_items
    ]


# ---- the run as a whole ---------------------------------------------------------------------------


@dataclass
class RunSummary:
    sources: dict[str, IngestCounts] = field(default_factory=dict)
    scored: int = 0
    flagged: int = 0
    rejected: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    """What was replaced in stored records, with where each was read (the first LISTED)."""
    flagged_items: list[FlaggedItem] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Sources that could not be read, with the error; the others were processed."""
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: {"ingest": 0.0, "read": 0.0, "score": 0.0, "write": 0.0})
    """Time per stage, summed over sources and batches (batches may run in parallel)."""
    by_label: Counter[str] = field(default_factory=Counter)
    """Flagged comments per label that flagged them (a comment counts once under each of its labels)."""
    alerts_written: int = 0
    """Alert-outbox rows this run wrote (one per alert per channel)."""
    scoring_failed: int = 0
    """Comments the scorer raised on alone; recorded, listed by `moderation failures list`."""
    scoring_failures: list[dict[str, Any]] = field(default_factory=list)
    alerts: DeliveryReport = field(default_factory=DeliveryReport)
    site_actions: ActionReport = field(default_factory=lambda: ActionReport())
    """Decisions applied on the sites this run (moderators' since the last run, and pre-moderation holds)."""
    batches_left: int = 0
    """Scoring batches skipped because the run was asked to stop; the next run scores them."""

    def add_ingest(self, report: IngestReport) -> None:
        self.sources[report.source] = report.counts
        self.rejected.extend(report.rejected[: max(LISTED - len(self.rejected), 0)])
        self.repaired.extend(report.repaired[: max(LISTED - len(self.repaired), 0)])
        if report.skipped:
            self.skipped[report.source] = report.skipped
        self.seconds["ingest"] += report.seconds

    def add_failure(self, source: str, error: BaseException | str) -> None:
        self.failed[source] = str(error) or type(error).__name__

    def add_batches(self, outcomes: Sequence[BatchOutcome]) -> None:
        for outcome in outcomes:
            self.batches_left += outcome.left_for_next_run
            self.scored += outcome.scored
            self.flagged += outcome.flagged
            self.flagged_items.extend(outcome.flagged_items[: max(LISTED - len(self.flagged_items), 0)])
            self.by_label.update(outcome.by_label)
            self.alerts_written += outcome.alerts
            self.scoring_failed += outcome.failed
            self.scoring_failures.extend(outcome.failed_items[: max(LISTED - len(self.scoring_failures), 0)])
            for stage, seconds in outcome.seconds.items():
                self.seconds[stage] += seconds

    def raise_for_failed_sources(self) -> None:
        """Fail the run (after everything else was done) when a source could not be read."""
        if self.failed:
            raise SourcesFailedError(self.failed, self)


# ---- retention ----------------------------------------------------------------------------------


def purge(db_url: str, before: datetime, now: datetime) -> PurgeCounts:
    return store.purge_text(database(db_url), before, now)

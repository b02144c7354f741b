"""Commenter states and rules, and reader reports, through the pipeline's real steps on SQLite and PostgreSQL
(a site's SQL table on PostgreSQL for the ban acted on at the site); the flow under Prefect for reports."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from moderation import pipeline
from moderation.cli import cli
from moderation.config import (
    CommenterRules,
    DeliverySettings,
    FileSourceSettings,
    PolicySettings,
    ReviewSettings,
    ScoringSettings,
    SiteActionSettings,
    SourceSettings,
    SqlColumns,
    SqlSourceSettings,
)
from moderation.errors import CommenterError, NotAllowed, UnknownItem
from moderation.models import REPORTED, InThread, Report
from moderation.pipeline import database
from moderation.review import Moderator, claim, decide
from moderation.review.accounts import add_user
from moderation.review.commenters import add_note, profile, set_state
from moderation.review.queue import QueueEntry, QueueFilter, list_items
from moderation.storage.reports import reports_on
from moderation.storage.site_actions import list_actions
from moderation.storage.tables import CommenterEventRow
from tests.conftest import SEED_TIME, write_config

NOW = SEED_TIME + timedelta(hours=1)
ROOT = Moderator("root", "admin")
ALICE = Moderator("alice")
SCORING = ScoringSettings(scorer="lexicon")
DELIVERY = DeliverySettings()
CIVIL = "Thanks, the second chart answers my question."
RUDE = "You are an idiot and a moron."


def _record(n: int, body: str, author_id: str | None = "42", author: str = "Dana", **extra: Any) -> dict[str, Any]:
    at = (SEED_TIME + timedelta(minutes=n)).isoformat()
    return {
        "id": f"c{n}",
        "post_id": "p1",
        "author": author,
        "author_id": author_id,
        "created_at": at,
        "text": body,
    } | extra


def _write(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    with path.open("a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path


def _source(path: Path, actions: SiteActionSettings | None = None) -> FileSourceSettings:
    return FileSourceSettings(name="blog", kind="jsonl", path=str(path), actions=actions)


def _run(url: str, source: SourceSettings, policy: PolicySettings | None = None) -> None:
    policy = policy or PolicySettings()
    pipeline.ingest(url, source, NOW, policy)
    for rows in pipeline.plan_batches(url, SCORING):
        pipeline.score_batch(url, rows, SCORING, policy, NOW, sources=[source])


def _items(url: str, status: str = "pending") -> dict[str, QueueEntry]:
    return {entry.comment_id: entry for entry in list_items(database(url), status)}


def _reject(url: str, comment_id: str) -> None:
    item = _items(url)[comment_id]
    decide(
        database(url),
        item.id,
        "rejected",
        moderator=ALICE,
        expected_version=item.version,
        now=NOW,
        rules=ReviewSettings(),
        reason_code="personal_attack",
    )


# ---- states -------------------------------------------------------------------------------------


def test_a_banned_commenters_next_comment_is_rejected_and_rejected_on_the_site(db_url: str, tmp_path: Path) -> None:
    decisions = tmp_path / "decisions.jsonl"
    source = _source(
        _write(tmp_path / "c.jsonl", [_record(1, CIVIL)]), SiteActionSettings(kind="file", path=str(decisions))
    )
    _run(db_url, source)
    set_state(database(db_url), "blog", "user:42", "banned", actor=ROOT, now=NOW, note="spam run")
    _write(tmp_path / "c.jsonl", [_record(2, CIVIL), _record(3, CIVIL, author_id="7")])
    _run(db_url, source)

    rejected = _items(db_url, "rejected")
    assert list(rejected) == ["c2"]
    assert (rejected["c2"].decided_by, rejected["c2"].decision_code) == ("system", "banned_commenter")
    assert "c3" not in _items(db_url)  # someone else's comment is judged as usual
    report = pipeline.deliver_site_actions(db_url, [source], DELIVERY, NOW)
    assert (report.applied, report.errors) == (1, [])
    (line,) = [json.loads(line) for line in decisions.read_text(encoding="utf-8").splitlines()]
    assert (line["comment_id"], line["decision"], line["reason_code"], line["actor"]) == (
        "c2",
        "reject",
        "banned_commenter",
        "system",
    )


def test_a_ban_can_reject_the_commenters_open_items_as_decisions_acted_on_at_the_site(
    db_url: str, tmp_path: Path
) -> None:
    decisions = tmp_path / "decisions.jsonl"
    records = [_record(1, RUDE), _record(2, RUDE + "!"), _record(3, RUDE, author_id="7")]
    source = _source(_write(tmp_path / "c.jsonl", records), SiteActionSettings(kind="file", path=str(decisions)))
    _run(db_url, source)
    assert sorted(_items(db_url)) == ["c1", "c2", "c3"]
    db = database(db_url)
    claim(db, _items(db_url)["c2"].id, ALICE, NOW, ReviewSettings())  # held by a moderator: left to her

    change = set_state(db, "blog", "user:42", "banned", actor=ROOT, now=NOW, reject_open="harassment")
    assert change.commenter.state == "banned" and change.rejected is not None
    outcome = change.rejected

    rejected = _items(db_url, "rejected")
    assert list(rejected) == ["c1"]
    assert (rejected["c1"].decided_by, rejected["c1"].decision_code) == ("root", "harassment")
    ((held, why),) = outcome.refused
    assert held == _items(db_url)["c2"].id
    assert why.startswith(f"item #{held} is being reviewed by alice")
    assert sorted(_items(db_url)) == ["c2", "c3"]  # someone else's comment stays open
    assert pipeline.deliver_site_actions(db_url, [source], DELIVERY, NOW).errors == []
    lines = [json.loads(line) for line in decisions.read_text(encoding="utf-8").splitlines()]
    rejects = [(line["comment_id"], line["actor"]) for line in lines if line["decision"] == "reject"]
    assert rejects == [("c1", "root")]


def test_an_expired_ban_no_longer_rejects(db_url: str, tmp_path: Path) -> None:
    source = _source(_write(tmp_path / "c.jsonl", [_record(1, CIVIL)]))
    set_state(
        database(db_url), "blog", "user:42", "banned", actor=ROOT, now=SEED_TIME, expires_at=NOW - timedelta(minutes=1)
    )
    _run(db_url, source)
    assert _items(db_url, "rejected") == {}
    assert profile(database(db_url), "blog", "user:42", NOW).state is None


@pytest.fixture
def forum(postgres_url: str) -> Iterator[SqlSourceSettings]:
    """A site's comments table with user ids and a status column the site shows comments by."""
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE forum (id integer PRIMARY KEY, post text, author text, user_id integer, "
                "at timestamptz NOT NULL, body text, status text NOT NULL DEFAULT 'published', "
                "flags text NOT NULL DEFAULT '0')"
            )
        )
    engine.dispose()
    yield SqlSourceSettings(
        name="forum",
        kind="sql",
        url=postgres_url,
        table="forum",
        columns=SqlColumns(
            post="post", author="author", parent=None, time="at", text="body", author_id="user_id", reports="flags"
        ),
        actions=SiteActionSettings(status_column="status", statuses={"approve": "published", "reject": "removed"}),
    )


def _post(url: str, n: int, user_id: int, body: str, flags: str = "0") -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO forum (id, post, author, user_id, at, body, flags) "
                "VALUES (:id, 'p1', 'Dana', :u, :at, :b, :f)"
            ),
            {"id": n, "u": user_id, "at": SEED_TIME + timedelta(minutes=n), "b": body, "f": flags},
        )
    engine.dispose()


@pytest.mark.postgres
def test_a_banned_users_comment_is_removed_from_the_sql_site(postgres_url: str, forum: SqlSourceSettings) -> None:
    set_state(database(postgres_url), "forum", "user:42", "banned", actor=ROOT, now=NOW)
    _post(postgres_url, 1, 42, CIVIL)
    _post(postgres_url, 2, 7, CIVIL)
    _run(postgres_url, forum)
    assert pipeline.deliver_site_actions(postgres_url, [forum], DELIVERY, NOW).applied == 1
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        statuses = dict(connection.execute(text("SELECT id, status FROM forum ORDER BY id")).all())
    engine.dispose()
    assert statuses == {1: "removed", 2: "published"}
    (action,) = list_actions(database(postgres_url))
    assert (action.decision, action.actor, action.applied) == ("reject", "system", "published->removed")


@pytest.mark.postgres
def test_the_sql_sources_reports_column_queues_a_clean_comment(postgres_url: str, forum: SqlSourceSettings) -> None:
    _post(postgres_url, 1, 42, CIVIL, flags='{"count": 3, "reasons": ["spam", "abuse"]}')
    _post(postgres_url, 2, 42, CIVIL, flags="1")
    _run(postgres_url, forum)
    assert {c: e.reasons for c, e in _items(postgres_url).items()} == {"1": {REPORTED: 3.0}}
    reasons = [(r.count, r.reason) for r in reports_on(database(postgres_url), "forum", "1")]
    assert reasons == [(1, "spam"), (1, "abuse"), (1, None)]


def test_trust_is_taken_from_the_user_id_never_from_the_display_name(db_url: str, tmp_path: Path) -> None:
    set_state(database(db_url), "blog", "user:42", "trusted", actor=ROOT, now=NOW)
    records = [_record(1, RUDE), _record(2, RUDE, author_id=None), _record(3, RUDE, author_id="0")]
    _run(db_url, _source(_write(tmp_path / "c.jsonl", records)))
    assert sorted(_items(db_url)) == ["c2", "c3"]  # the guests named Dana are queued; user 42 passed
    with pytest.raises(CommenterError, match="only a registered user"):
        set_state(database(db_url), "blog", "email:dana@example.org", "trusted", actor=ROOT, now=NOW)
    with pytest.raises(CommenterError, match="not a commenter"):
        set_state(database(db_url), "blog", "Dana", "trusted", actor=ROOT, now=NOW)


def test_trust_does_not_pass_a_threat(db_url: str, tmp_path: Path) -> None:
    set_state(database(db_url), "blog", "user:42", "trusted", actor=ROOT, now=NOW)
    _run(db_url, _source(_write(tmp_path / "c.jsonl", [_record(1, "I will kill you if you post that again.")])))
    assert "threat" in _items(db_url)["c1"].reasons


def test_a_commenter_over_the_rejection_rate_is_queued_even_for_a_civil_comment(db_url: str, tmp_path: Path) -> None:
    policy = PolicySettings(commenters=CommenterRules(rejection_rate=0.5, min_comments=4, window_days=30))
    path = _write(tmp_path / "c.jsonl", [_record(1, RUDE), _record(2, RUDE), _record(3, CIVIL), _record(4, CIVIL)])
    path = _write(path, [_record(10, CIVIL, author_id="7", author="Eve")])
    _run(db_url, _source(path), policy)
    _reject(db_url, "c1")
    _reject(db_url, "c2")
    _write(path, [_record(5, CIVIL), _record(11, CIVIL, author_id="7", author="Eve")])
    _run(db_url, _source(path), policy)
    queued = _items(db_url)
    assert queued["c5"].reasons == {"rejection_rate": 0.5}
    assert "c11" not in queued


def test_a_new_commenters_first_comments_are_reviewed_when_enabled(db_url: str, tmp_path: Path) -> None:
    policy = PolicySettings(commenters=CommenterRules(review_first=2))
    path = _write(tmp_path / "c.jsonl", [_record(1, CIVIL), _record(2, CIVIL)])
    _run(db_url, _source(path), policy)
    _write(path, [_record(3, CIVIL), _record(4, CIVIL, author_id=None, author_email="new@example.org")])
    _run(db_url, _source(path), policy)
    queued = _items(db_url)
    assert sorted(queued) == ["c1", "c2", "c4"]  # user 42's third comment passes; the address is new
    assert all(queued[c].reasons == {"new_commenter": 1.0} for c in ("c1", "c2", "c4"))
    _run(db_url, _source(path))  # off by default: nothing else changes


def test_every_state_change_and_note_is_audited_and_counts_are_derived(db_url: str, tmp_path: Path) -> None:
    db = database(db_url)
    _run(db_url, _source(_write(tmp_path / "c.jsonl", [_record(1, RUDE), _record(2, CIVIL, reports=2)])))
    with pytest.raises(NotAllowed):
        set_state(db, "blog", "user:42", "banned", actor=ALICE, now=NOW)
    set_state(db, "blog", "user:42", "always_review", actor=ROOT, now=NOW, note="watch")
    add_note(db, "blog", "user:42", "asked to cool down", actor=ALICE, now=NOW)
    set_state(db, "blog", "user:42", None, actor=ROOT, now=NOW)
    found = profile(db, "blog", "user:42", NOW)
    assert (found.state, found.comments, found.flagged, found.rejected, found.reports) == (None, 2, 1, 0, 2)
    assert [(e.actor, e.action, e.state, e.note) for e in reversed(found.events)] == [
        ("root", "state", "always_review", "watch"),
        ("alice", "note", None, "asked to cool down"),
        ("root", "state", None, None),
    ]
    with db.session() as session:
        assert len(list(session.scalars(select(CommenterEventRow)))) == 3


# ---- reader reports -----------------------------------------------------------------------------


def test_enough_reader_reports_in_the_file_queue_a_clean_comment(db_url: str, tmp_path: Path) -> None:
    records = [
        _record(1, CIVIL, reports={"count": 3, "reasons": ["spam"]}),
        _record(2, CIVIL, reports=2),
        _record(3, RUDE, reports=[{"reason": "abuse", "reporter": "r9"}]),
    ]
    _run(db_url, _source(_write(tmp_path / "c.jsonl", records)))
    queued = _items(db_url)
    assert queued["c1"].reasons == {REPORTED: 3.0}
    assert "c2" not in queued
    assert queued["c3"].reasons[REPORTED] == 1.0  # flagged by its words, and reported once
    reported = list_items(database(db_url), filters=QueueFilter(label=REPORTED))
    assert sorted(e.comment_id for e in reported) == ["c1", "c3"]
    assert [(r.count, r.reason, r.reporter) for r in reports_on(database(db_url), "blog", "c3")] == [(1, "abuse", "r9")]


def test_reports_added_later_queue_a_scored_comment_and_raise_an_items_priority(db_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [_record(1, CIVIL), _record(2, RUDE)])
    _run(db_url, _source(path))
    policy = PolicySettings()
    before = _items(db_url)["c2"].priority
    first = pipeline.add_reports(db_url, "blog", "c1", [Report(1, "spam", "r1"), Report(1, "spam", "r2")], policy, NOW)
    assert (first.total, first.queued) == (2, False)
    second = pipeline.add_reports(db_url, "blog", "c1", [Report(1, "off topic", "r3")], policy, NOW)
    assert (second.total, second.queued) == (3, True)
    assert _items(db_url)["c1"].reasons == {REPORTED: 3.0}
    pipeline.add_reports(db_url, "blog", "c2", [Report(2, "abuse")], policy, NOW)
    assert _items(db_url)["c2"].priority == before + 0.5
    who = [(r.reporter, r.reason, r.via) for r in reports_on(database(db_url), "blog", "c1")]
    assert who == [("r1", "spam", "api"), ("r2", "spam", "api"), ("r3", "off topic", "api")]
    with pytest.raises(UnknownItem):
        pipeline.add_reports(db_url, "blog", "nope", [Report()], policy, NOW)


def test_a_source_read_again_with_more_reports_queues_the_comment_once(db_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [_record(1, CIVIL, reports=1)])
    _run(db_url, _source(path))
    assert _items(db_url) == {}
    _write(path, [_record(1, CIVIL, reports={"count": 4, "reasons": ["spam"]})])  # the site's total now
    _run(db_url, _source(path))
    _write(path, [_record(1, CIVIL, reports={"count": 4, "reasons": ["spam"]})])  # read again, unchanged
    _run(db_url, _source(path))
    (item,) = list_items(database(db_url))
    assert (item.comment_id, item.reasons) == ("c1", {REPORTED: 4.0})
    assert [(r.count, r.reason) for r in reports_on(database(db_url), "blog", "c1")] == [(1, "spam"), (3, None)]


def test_a_malformed_reports_field_rejects_only_its_record(db_url: str, tmp_path: Path) -> None:
    _run(db_url, _source(_write(tmp_path / "c.jsonl", [_record(1, CIVIL, reports="lots"), _record(2, CIVIL)])))
    with database(db_url).session() as session:
        from moderation.storage.tables import CommentRow, RejectedInputRow

        assert [r.error for r in session.scalars(select(RejectedInputRow))] == [
            'reports: give a count, {"count": N, "reasons": [...]}, or a list of {"reason", "reporter"}, got \'lots\''
        ]
        assert [c.external_id for c in session.scalars(select(CommentRow))] == ["c2"]


# ---- the CLI ------------------------------------------------------------------------------------


def test_the_cli_sets_shows_lists_and_notes_commenters(sqlite_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", sqlite_url)
    db = database(sqlite_url)
    add_user(db, "root", "correct horse battery", "admin", SEED_TIME)
    add_user(db, "alice", "correct horse battery", "moderator", SEED_TIME)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, [*args[:2], "--config", str(config), *args[2:]])

    done = run("commenter", "set", "blog", "user:42", "banned", "--days", "7", "--note", "spam run", "--as", "root")
    assert done.exit_code == 0, done.output
    assert "blog user:42: banned until" in done.output
    refused = run("commenter", "set", "blog", "user:42", "none", "--as", "alice")
    assert refused.exit_code == 1
    assert "Error: only an admin may set a commenter's state; alice is a moderator" in refused.output
    assert run("commenter", "notes", "blog", "user:42", "second account of c9", "--as", "alice").exit_code == 0
    notes = run("commenter", "notes", "blog", "user:42", "--as", "alice")
    assert "alice: second account of c9" in notes.output
    listed = run("commenter", "list", "--state", "banned", "--format", "json")
    assert [(c["key"], c["state"], c["state_note"]) for c in json.loads(listed.output)] == [
        ("user:42", "banned", "spam run")
    ]
    shown = json.loads(run("commenter", "show", "blog", "user:42", "--format", "json").output)
    assert [e["action"] for e in shown["events"]] == ["note", "state"]
    bad = run("commenter", "show", "blog", "Dana")
    assert bad.exit_code == 1 and "is not a commenter" in bad.output


def test_the_cli_bans_and_rejects_open_items_refusing_a_bad_reason_before_banning(
    sqlite_url: str, tmp_path: Path
) -> None:
    _run(sqlite_url, _source(_write(tmp_path / "c.jsonl", [_record(1, RUDE), _record(2, RUDE + "!")])))
    config = write_config(tmp_path / "c.toml", sqlite_url)
    add_user(database(sqlite_url), "root", "correct horse battery", "admin", SEED_TIME)
    runner = CliRunner()

    def ban(*extra: str) -> Any:
        args = ["commenter", "set", "--config", str(config), "blog", "user:42", "banned", "--as", "root", *extra]
        return runner.invoke(cli, args)

    wrong = ban("--reject-open", "rudeness")
    assert wrong.exit_code == 1
    assert "unknown reason 'rudeness'" in wrong.output
    assert profile(database(sqlite_url), "blog", "user:42", NOW).state is None
    done = ban("--reject-open", "harassment", "--format", "json")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.output)
    assert answer["state"] == "banned"
    assert sorted(answer["rejected_items"]) == sorted(entry.id for entry in _items(sqlite_url, "rejected").values())
    assert len(answer["rejected_items"]) == 2
    assert _items(sqlite_url) == {}
    clearing = runner.invoke(
        cli,
        ["commenter", "set", "--config", str(config), "blog", "user:42", "none", "--as", "root", "--reject-open", "x"],
    )
    assert clearing.exit_code == 1 and "open items are rejected only with a ban, not with none" in clearing.output
    assert profile(database(sqlite_url), "blog", "user:42", NOW).state == "banned"


def test_reports_that_arrive_while_a_comment_is_scored_still_count(sqlite_url: str, tmp_path: Path) -> None:
    # SQLite reads and saves a batch in two transactions: reports added in between are applied at the save
    from moderation.policy import decide as policy_decide
    from moderation.policy.phases import report_rule
    from moderation.scoring import load_scorer
    from moderation.storage import store

    source = _source(_write(tmp_path / "c.jsonl", [_record(1, CIVIL)]))
    policy = PolicySettings()
    pipeline.ingest(sqlite_url, source, NOW, policy)
    scorer = load_scorer("lexicon", SCORING)
    (rows,) = pipeline.plan_batches(sqlite_url, SCORING)
    with store.claim_unscored(database(sqlite_url), scorer.version, rows, NOW, NOW) as claim:
        (item,) = claim.comments
        (score,) = scorer.score([InThread(item.comment, claim.threads[item.row_id])])
        decision = policy_decide(item.comment, score, policy, "blog", reports=claim.report_counts.get(item.row_id, 0))
        assert not decision.flagged
        pipeline.add_reports(sqlite_url, "blog", "c1", [Report(3, "spam")], policy, NOW)  # not scored yet: stored
        claim.save([(item, score, decision)], scorer.name, scorer.version, NOW, report_rule=report_rule(policy))
    assert _items(sqlite_url)["c1"].reasons == {REPORTED: 3.0}

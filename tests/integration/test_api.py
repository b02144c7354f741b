"""`moderation api` over real HTTP: a uvicorn server on loopback, called with httpx.

Most tests use the fast scorer; one uses the default (cascade) scorer.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from moderation.cli import cli
from moderation.review.accounts import add_user
from moderation.score_file import score_file
from moderation.storage import store
from moderation.storage.engine import database
from moderation.storage.tables import CommentRow, QueueItemRow
from tests.conftest import EXAMPLES, write_config
from tests.integration.api_server import RunningApi, running_api

SEED = EXAMPLES / "seed_thread.jsonl"
CORAL_SECRET_ENV = "MODERATION_TEST_CORAL_SECRET"
CORAL_SECRET = "whsec-test-coral-signing-secret"
C6_TEXT = "Slaven, you’re an idiot! Why should his family who had NOTHING to do with it suffer? They’re innocent!"
CLEAN_TEXT = "The plane was returned in 2 and half months not 2 years."
CORAL_AUTHOR = "baf4e943-3594-4fcc-b2ba-3e8de7a76352"
ANOTHER_AUTHOR = "0c7e1f52-8a43-4a8e-9d1e-5d2f4b7a9c11"

Serve = Callable[..., AbstractContextManager[RunningApi]]


def seed_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]


def seed_comment(comment_id: str) -> dict[str, Any]:
    return next(record for record in seed_records() if record["id"] == comment_id)


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """SQLite, unless a test asks for `postgres` too (indirect parametrization)."""
    kind = getattr(request, "param", "sqlite")
    return str(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "postgres_url"))


@pytest.fixture
def config_for(tmp_path: Path, database_url: str) -> Callable[..., Path]:
    def write(api: str = "", scorer: str = "fast") -> Path:
        extra = f'[api]\nscorer = "{scorer}"\n{api}\n[api.coral]\nsigning_secret_env = "{CORAL_SECRET_ENV}"\n'
        return write_config(tmp_path / "moderation.toml", database_url, extra)

    return write


@pytest.fixture
def serve(config_for: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Serve:
    monkeypatch.setenv(CORAL_SECRET_ENV, CORAL_SECRET)

    def start(api: str = "", scorer: str = "fast") -> AbstractContextManager[RunningApi]:
        return running_api(config_for(api, scorer))

    return start


@pytest.fixture
def api(serve: Serve) -> Iterator[RunningApi]:
    with serve() as running:
        yield running


def create_key(config: Path, name: str) -> str:
    result = CliRunner().invoke(cli, ["api-key", "create", name, "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def key(api: RunningApi, config_for: Callable[..., Path]) -> str:
    return create_key(config_for(), "site")


def coral_signature(body: bytes, secret: str = CORAL_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def coral_request(text: str, parent_id: str | None = None, author: str = CORAL_AUTHOR) -> bytes:
    """As Coral sends it: pretty-printed JSON (JSON.stringify(data, null, 2))."""
    payload = {
        "action": "NEW",
        "comment": {"body": text, "parentID": parent_id},
        "author": {"id": author, "role": "COMMENTER"},
        "story": {"id": "245b3856-b0a0-4d2f-a6bb-58c71f18d6a6", "url": "http://localhost:1313/posts/a-story/"},
        "site": {"id": "a4bede88-2d2c-4424-bc18-4322a9e285a6"},
        "tenantID": "19ba5794-7eeb-4d46-a81b-c00c61672501",
        "tenantDomain": "localhost",
    }
    return json.dumps(payload, indent=2, ensure_ascii=False).encode("utf-8")


def perspective_as_coral_sends_it(text: str) -> dict[str, Any]:
    return {"comment": {"text": text}, "languages": ["en"], "doNotStore": True, "requestedAttributes": {"TOXICITY": {}}}


# ---- native ---------------------------------------------------------------------------------------


def test_native_scoring_of_the_seed_thread_equals_moderation_score(
    api: RunningApi, key: str, config_for: Callable[..., Path]
) -> None:
    expected = io.StringIO()
    report = score_file(SEED, expected, config_path=str(config_for()), scorer_name="fast")
    assert report.scored == 11
    with api.client() as client:
        answer = client.post("/v1/score", params={"key": key}, json={"comments": seed_records()})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "results": [json.loads(line) for line in expected.getvalue().splitlines()],
        "rejected": [],
        "failed": [],
    }


def test_native_single_comment_with_its_thread_reports_c6_as_an_attack_on_slaven(api: RunningApi, key: str) -> None:
    body = {"comment": seed_comment("c6"), "context": [seed_comment("c5")]}
    with api.client() as client:
        answer = client.post("/v1/score", headers={"X-API-Key": key}, json=body)
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["id"] == "c6"
    assert record["flagged"] is True
    assert "attack_on_commenter" in record["reasons"]
    assert record["attack_target"] == "Slaven"


def test_one_bad_comment_in_a_batch_is_rejected_and_the_others_are_scored(api: RunningApi, key: str) -> None:
    comments = [seed_comment("c3"), {"id": "", "text": "no id"}, seed_comment("c6")]
    with api.client() as client:
        answer = client.post("/v1/score", params={"key": key}, json={"comments": comments})
    assert answer.status_code == 200, answer.text
    assert [r["id"] for r in answer.json()["results"]] == ["c3", "c6"]
    [rejected] = answer.json()["rejected"]
    assert rejected["location"] == "comments[1]"
    assert "id" in rejected["error"]


def test_malformed_json_is_a_400_saying_so(api: RunningApi, key: str) -> None:
    with api.client() as client:
        answer = client.post(
            "/v1/score",
            params={"key": key},
            content=b'{"comment": {"id": "x", "text": ',
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith("Invalid JSON payload received")


def test_a_request_of_the_wrong_shape_names_the_field(api: RunningApi, key: str) -> None:
    with api.client() as client:
        answer = client.post("/v1/score", params={"key": key}, json={"comments": "c6"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("Invalid request: comments:")


# ---- keys, limits ---------------------------------------------------------------------------------


def test_a_request_without_a_key_is_401_and_says_how_to_pass_one(api: RunningApi) -> None:
    with api.client() as client:
        answer = client.post("/v1/score", json={"comment": seed_comment("c3")})
    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == "UNAUTHENTICATED"
    assert "?key=" in answer.json()["error"]["message"]


def test_a_revoked_key_is_refused_with_403(api: RunningApi, key: str, config_for: Callable[..., Path]) -> None:
    with api.client() as client:
        assert client.post("/v1/score", params={"key": key}, json={"comment": seed_comment("c3")}).status_code == 200
        revoked = CliRunner().invoke(cli, ["api-key", "revoke", "site", "--config", str(config_for())])
        assert revoked.exit_code == 0, revoked.output
        answer = client.post("/v1/score", params={"key": key}, json={"comment": seed_comment("c3")})
    assert answer.status_code == 403
    assert answer.json()["error"]["message"].startswith("API key not valid")


def test_an_unknown_key_is_refused_with_403(api: RunningApi) -> None:
    with api.client() as client:
        answer = client.post("/v1/score", params={"key": "mod_not-a-key"}, json={"comment": seed_comment("c3")})
    assert answer.status_code == 403


def test_api_key_list_shows_names_and_prefixes_never_keys(
    api: RunningApi, key: str, config_for: Callable[..., Path]
) -> None:
    listed = CliRunner().invoke(cli, ["api-key", "list", "--config", str(config_for()), "--format", "json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert row["name"] == "site"
    assert row["revoked_at"] is None
    assert key.startswith(row["prefix"])
    assert key not in listed.output


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_the_third_request_in_a_window_over_a_limit_of_two_is_429_and_other_keys_carry_on(
    serve: Serve, config_for: Callable[..., Path]
) -> None:
    with serve("rate_limit = 2\nrate_window_seconds = 600") as running:
        first, second = create_key(config_for(), "first"), create_key(config_for(), "second")
        body = {"comment": seed_comment("c3")}
        with running.client() as client:
            statuses = [client.post("/v1/score", params={"key": first}, json=body).status_code for _ in range(2)]
            over = client.post("/v1/score", params={"key": first}, json=body)
            other = client.post("/v1/score", params={"key": second}, json=body)
    assert statuses == [200, 200]
    assert over.status_code == 429
    assert over.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert over.headers["Retry-After"] == "600"
    assert other.status_code == 200


def test_a_body_over_the_limit_is_413_with_a_clear_error(serve: Serve, config_for: Callable[..., Path]) -> None:
    with serve("max_body_bytes = 2048") as running:
        key = create_key(config_for(), "site")
        big = json.dumps({"comment": {"id": "big", "text": "word " * 1000}}).encode()
        with running.client() as client:
            declared = client.post(
                "/v1/score", params={"key": key}, content=big, headers={"Content-Type": "application/json"}
            )
            chunked = client.post(
                "/v1/score",
                params={"key": key},
                content=iter([big[:1000], big[1000:]]),
                headers={"Content-Type": "application/json"},
            )
    for answer in (declared, chunked):
        assert answer.status_code == 413
        assert (
            answer.json()["error"]["message"] == "Request body too large: the limit is 2048 bytes (api.max_body_bytes)"
        )


def test_too_many_comments_in_one_request_is_413_naming_the_setting(
    serve: Serve, config_for: Callable[..., Path]
) -> None:
    with serve("max_comments = 3") as running:
        key = create_key(config_for(), "site")
        with running.client() as client:
            answer = client.post("/v1/score", params={"key": key}, json={"comments": seed_records()[:4]})
    assert answer.status_code == 413
    assert "api.max_comments" in answer.json()["error"]["message"]


# ---- Perspective ----------------------------------------------------------------------------------


def test_a_perspective_request_as_coral_sends_it_gets_a_response_coral_can_read(api: RunningApi, key: str) -> None:
    with api.client() as client:
        answer = client.post(
            "/v1alpha1/comments:analyze", params={"key": key}, json=perspective_as_coral_sends_it(C6_TEXT)
        )
        native = client.post("/v1/score", params={"key": key}, json={"comment": {"id": "x", "text": C6_TEXT}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # What Coral reads: attributeScores.TOXICITY.summaryScore.value
    assert body["attributeScores"]["TOXICITY"]["summaryScore"] == {
        "value": native.json()["scores"]["toxicity"],
        "type": "PROBABILITY",
    }
    assert body["languages"] == ["en"]
    assert set(body["attributeScores"]) == {"TOXICITY"}


def test_perspective_reports_c6_as_an_attack_on_slaven_with_its_spans(api: RunningApi, key: str) -> None:
    request = {
        "comment": {"text": C6_TEXT},
        "requestedAttributes": {"ATTACK_ON_COMMENTER": {}, "INSULT": {}, "PROFANITY": {}},
        "clientToken": "token-42",
        "moderation": {"author": "Lee Lindberg", "participants": ["Slaven", "Dan"]},
    }
    with api.client() as client:
        answer = client.post("/v1alpha1/comments:analyze", headers={"X-Goog-Api-Key": key}, json=request)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    attack = body["attributeScores"]["ATTACK_ON_COMMENTER"]
    assert attack["summaryScore"]["value"] >= 0.5
    assert attack["attackTarget"] == "Slaven"
    assert {"begin": 0, "end": 6} in [{"begin": s["begin"], "end": s["end"]} for s in attack["spanScores"]]
    assert body["clientToken"] == "token-42"
    assert set(body["attributeScores"]) == {"ATTACK_ON_COMMENTER", "INSULT", "PROFANITY"}


def test_perspective_unknown_attribute_is_a_perspective_style_400(api: RunningApi, key: str) -> None:
    request = {"comment": {"text": "hello"}, "requestedAttributes": {"FLIRTATION": {}}}
    with api.client() as client:
        answer = client.post("/v1alpha1/comments:analyze", params={"key": key}, json=request)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith("Unknown requested attribute: FLIRTATION")
    assert error["details"][0]["errorType"] == "UNKNOWN_REQUESTED_ATTRIBUTE"


def test_perspective_unsupported_language_is_a_perspective_style_400(api: RunningApi, key: str) -> None:
    request = {"comment": {"text": "Hallo"}, "languages": ["de"], "requestedAttributes": {"TOXICITY": {}}}
    with api.client() as client:
        answer = client.post("/v1alpha1/comments:analyze", params={"key": key}, json=request)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"] == "Attribute TOXICITY does not support request languages: de"
    assert error["details"][0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"


def test_perspective_empty_comment_is_refused_as_perspective_does(api: RunningApi, key: str) -> None:
    with api.client() as client:
        answer = client.post(
            "/v1alpha1/comments:analyze", params={"key": key}, json=perspective_as_coral_sends_it("  ")
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Comment must be non-empty."


# ---- Coral external moderation phase --------------------------------------------------------------


def test_coral_phase_with_a_good_signature_premoderates_an_attack(api: RunningApi) -> None:
    body = coral_request(C6_TEXT)
    with api.client() as client:
        answer = client.post(
            "/v1/coral/moderate",
            content=body,
            headers={"Content-Type": "application/json", "X-Coral-Signature": coral_signature(body)},
        )
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["status"] == "PREMOD"
    assert decision["actions"] == [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}]
    assert "insult" in decision["moderation"]["reasons"]


def test_coral_phase_approves_a_clean_comment_signed_with_one_of_two_rotating_secrets(api: RunningApi) -> None:
    body = coral_request(CLEAN_TEXT)
    header = f"{coral_signature(body, 'an-older-secret')},{coral_signature(body)}"
    with api.client() as client:
        answer = client.post("/v1/coral/moderate", content=body, headers={"X-Coral-Signature": header})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "APPROVED"
    assert "actions" not in answer.json()


def test_coral_phase_with_a_bad_signature_is_refused(api: RunningApi) -> None:
    body = coral_request(CLEAN_TEXT)
    tampered = body.replace(b"2 years", b"3 years")
    with api.client() as client:
        bad = client.post("/v1/coral/moderate", content=tampered, headers={"X-Coral-Signature": coral_signature(body)})
        missing = client.post("/v1/coral/moderate", content=body)
    for answer in (bad, missing):
        assert answer.status_code == 401
        assert "X-Coral-Signature" in answer.json()["error"]["message"]


def test_coral_phase_rejects_outright_above_the_reject_threshold(serve: Serve, config_for: Callable[..., Path]) -> None:
    config = config_for()
    config.write_text(config.read_text().replace("[api.coral]\n", "[api.coral]\nreject_threshold = 0.5\n"))
    with running_api(config) as running, running.client() as client:
        body = coral_request(C6_TEXT)
        answer = client.post("/v1/coral/moderate", content=body, headers={"X-Coral-Signature": coral_signature(body)})
    assert answer.json()["status"] == "REJECTED"


def test_a_banned_commenter_is_rejected_through_coral_and_the_native_api_and_recorded_so(
    serve: Serve, config_for: Callable[..., Path], database_url: str
) -> None:
    config = config_for("record = true")
    add_user(database(database_url), "root", "correct horse battery", "admin", datetime.now(UTC))
    banned = CliRunner().invoke(
        cli, ["commenter", "set", "api", f"user:{CORAL_AUTHOR}", "banned", "--as", "root", "--config", str(config)]
    )
    assert banned.exit_code == 0, banned.output
    with serve("record = true") as running, running.client() as client:
        key = create_key(config, "site")
        body = coral_request(CLEAN_TEXT)
        coral = client.post("/v1/coral/moderate", content=body, headers={"X-Coral-Signature": coral_signature(body)})
        other = coral_request(CLEAN_TEXT, author=ANOTHER_AUTHOR)
        allowed = client.post(
            "/v1/coral/moderate", content=other, headers={"X-Coral-Signature": coral_signature(other)}
        )
        comment = {"id": "n1", "text": CLEAN_TEXT, "author": "Max", "author_id": CORAL_AUTHOR}
        native = client.post("/v1/score", params={"key": key}, json={"comment": comment})
    assert coral.json()["status"] == "REJECTED"
    assert coral.json()["moderation"]["reasons"] == ["banned_commenter"]
    assert allowed.json()["status"] == "APPROVED"
    assert native.json()["flagged"] is False
    assert native.json()["reasons"] == ["banned_commenter"]
    with database(database_url).session() as session:
        statuses = {
            comment_id: status
            for comment_id, status in session.execute(
                select(CommentRow.external_id, QueueItemRow.status).join(
                    QueueItemRow, QueueItemRow.comment_id == CommentRow.id
                )
            )
        }
    assert statuses.get("n1") == "rejected"
    assert sorted(statuses.values()).count("rejected") == 2  # the native comment and the banned Coral one


# ---- recording ------------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_recorded_comments_reach_the_review_queue_and_do_not_store_is_honoured(
    serve: Serve, config_for: Callable[..., Path]
) -> None:
    with serve("record = true") as running:
        key = create_key(config_for(), "site")
        with running.client() as client:
            native = client.post(
                "/v1/score", params={"key": key}, json={"comment": seed_comment("c6"), "context": [seed_comment("c5")]}
            )
            kept = client.post(
                "/v1alpha1/comments:analyze",
                params={"key": key},
                json={"comment": {"text": "You are a moron."}, "requestedAttributes": {"INSULT": {}}},
            )
            secret = client.post(
                "/v1alpha1/comments:analyze",
                params={"key": key},
                json=perspective_as_coral_sends_it("Secret idiot text"),
            )
        assert native.status_code == kept.status_code == secret.status_code == 200
        stored = {
            s.comment.id: s
            for s in store.stored_comments(
                running.db, "api", ["c6", _perspective_id("You are a moron."), _perspective_id("Secret idiot text")]
            )
        }
        with running.db.session() as session:
            queued = set(session.scalars(select(QueueItemRow.comment_id)))
    assert set(stored) == {"c6", _perspective_id("You are a moron.")}
    assert {stored["c6"].row_id, stored[_perspective_id("You are a moron.")].row_id} <= queued


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_reader_reports_over_the_api_queue_a_recorded_clean_comment_at_queue_at(
    serve: Serve, config_for: Callable[..., Path]
) -> None:
    clean = {"id": "r1", "post_id": "p9", "author": "Ana", "text": CLEAN_TEXT}
    with serve("record = true") as running:
        key = create_key(config_for(), "site")
        with running.client() as client:
            scored = client.post("/v1/score", params={"key": key}, json={"comment": clean})
            first = client.post(
                "/v1/reports",
                params={"key": key},
                json={"source": "api", "comment_id": "r1", "reports": [{"reason": "spam", "reporter": "Ben"}]},
            )
            second = client.post(
                "/v1/reports",
                params={"key": key},
                json={"source": "api", "comment_id": "r1", "reports": [{"reason": "abuse", "count": 2}]},
            )
            unknown = client.post(
                "/v1/reports", params={"key": key}, json={"source": "api", "comment_id": "nope", "reports": [{}]}
            )
            keyless = client.post("/v1/reports", json={"source": "api", "comment_id": "r1", "reports": [{}]})
            empty = client.post("/v1/reports", params={"key": key}, json={"source": "api", "comment_id": "r1"})
    assert scored.json()["flagged"] is False
    assert first.json() == {"total": 1, "queued": False, "queue_item_id": None}
    assert second.json()["total"] == 3 and second.json()["queued"] is True  # policy.reports.queue_at = 3
    assert second.json()["queue_item_id"] is not None
    assert (unknown.status_code, keyless.status_code, empty.status_code) == (404, 401, 400)
    assert "nope" in unknown.json()["error"]["message"]


def _perspective_id(text: str) -> str:
    return "perspective-" + hashlib.sha256(text.encode()).hexdigest()[:32]


# ---- operations -----------------------------------------------------------------------------------


def test_health_readiness_and_openapi_answer_without_a_key(api: RunningApi) -> None:
    with api.client() as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")
        docs = client.get("/docs")
        schema = client.get("/openapi.json").json()
    assert health.json() == {"status": "ok"}
    assert ready.json()["status"] == "ready"
    assert ready.json()["scorer"].startswith("fast/")
    assert docs.status_code == 200
    assert {"/v1/score", "/v1alpha1/comments:analyze", "/v1/coral/moderate"} <= set(schema["paths"])


def test_access_log_has_one_line_per_request_without_text_or_key(
    api: RunningApi, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="moderation.api.access"), api.client() as client:
        client.post("/v1/score", params={"key": key}, json={"comment": seed_comment("c6")})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "moderation.api.access"]
    [entry] = [line for line in lines if line["path"] == "/v1/score"]
    assert entry["status"] == 200
    assert entry["key"] == "site"
    assert entry["comments"] == 1
    logged = caplog.text
    assert "idiot" not in logged
    assert key not in logged


# ---- the default scorer ---------------------------------------------------------------------------


def test_the_default_scorer_reports_c6_as_an_attack_on_slaven_through_the_native_api(
    serve: Serve, config_for: Callable[..., Path]
) -> None:
    config = config_for()
    config.write_text(config.read_text().replace('scorer = "fast"\n', ""))
    with running_api(config) as running:
        key = create_key(config, "site")
        with running.client() as client:
            ready = client.get("/readyz").json()
            answer = client.post(
                "/v1/score", params={"key": key}, json={"comment": seed_comment("c6"), "context": [seed_comment("c5")]}
            )
    assert ready["scorer"].startswith("cascade/")
    assert answer.json()["attack_target"] == "Slaven"

from datetime import UTC, datetime

from moderation.alerts.messages import (
    alert_from_entry,
    email_message,
    json_body,
    mattermost_body,
    slack_body,
    teams_body,
    text_body,
)
from moderation.models import OutboxEntry

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
HOSTILE = "<!channel> @channel @here see <https://evil.example|your account> *now* [click](https://evil.example)"


def entry(kind: str = "pile_on", **payload: object) -> OutboxEntry:
    data = {
        "source": "site",
        "post_id": "p1",
        "post_title": "Local election results",
        "flagged": 6,
        "attacks": 3,
        "limit_flagged": 5,
        "limit_attacks": 3,
        "window_minutes": 60,
        "comments": [
            {
                "item_id": 42,
                "comment_id": "c9",
                "author": "troll",
                "excerpt": HOSTILE,
                "reasons": {"attack_on_commenter": 0.93, "insult": 0.9},
                "attack_target": "Ann",
            }
        ],
        **payload,
    }
    return OutboxEntry(
        id=7,
        kind=kind,
        dedupe_key="pile_on:site/p1:2026-03-01T10:00Z",
        channel="hook",
        source="site",
        post_id="p1",
        window_start=NOW,
        payload=data,
        status="sending",
        attempts=0,
        next_attempt_at=NOW,
        last_error=None,
        created_at=NOW,
        delivered_at=None,
    )


def test_a_pile_on_says_what_happened_where_and_links_to_the_worst_item() -> None:
    alert = alert_from_entry(entry(), "https://mod.example.org/")
    assert alert.title == "Pile-on on “Local election results”"
    assert alert.summary == (
        "6 flagged comments, 3 of them attacks on commenters, within 60 minutes (alert at 5 flagged or 3 attacks)."
    )
    assert alert.link == alert.comments[0].link == "https://mod.example.org/items/42"


def test_a_pile_on_counting_only_flagged_comments_names_only_that_limit() -> None:
    alert = alert_from_entry(entry(limit_attacks=None), "https://mod.example.org")
    assert alert.summary.endswith("within 60 minutes (alert at 5 flagged).")


def test_a_single_severe_comment_is_described_without_a_window() -> None:
    alert = alert_from_entry(entry("severe", count=1, thresholds={"threat": 0.5}), "https://mod.example.org")
    assert (alert.title, alert.summary) == (
        "Severe comment on “Local election results”",
        "A comment at or above a severe threshold (threat ≥ 0.5).",
    )


def test_a_severe_alert_says_which_urgent_label_flagged_the_comment() -> None:
    alert = alert_from_entry(entry("severe", count=1, flagged_for=["threat"], thresholds={}), "https://mod.example.org")
    assert alert.summary == "A comment flagged for threat."
    both = entry("severe", count=2, flagged_for=["threat"], thresholds={"attack_on_commenter": 0.9}, window_minutes=60)
    assert alert_from_entry(both, "https://mod.example.org").summary == (
        "2 comments flagged for threat or at or above a severe threshold (attack_on_commenter ≥ 0.9) within 60 minutes."
    )


def test_a_backlog_alert_links_to_the_queue() -> None:
    backlog = entry("backlog", pending=250, max_pending=200, oldest_minutes=1600.0, max_age_minutes=1440, comments=[])
    alert = alert_from_entry(backlog, "http://127.0.0.1:8000")
    assert alert.title == "Review queue backlog: 250 pending"
    assert alert.summary == "250 items wait for review (limit 200); the oldest has waited 27 h (limit 24 h)."
    assert alert.link == "http://127.0.0.1:8000/queue/pending"


def test_slack_text_cannot_mention_the_channel_or_add_links() -> None:
    body = slack_body(alert_from_entry(entry(), "https://mod.example.org"))
    quoted = body["blocks"][2]["text"]["text"]
    assert "<!channel>" not in quoted and "&lt;!channel&gt;" in quoted
    assert "<https://evil.example|" not in quoted
    assert "<https://mod.example.org/items/42|#42>" in quoted  # our own link stays a link


def test_mattermost_and_teams_text_cannot_mention_everyone_or_add_links() -> None:
    alert = alert_from_entry(entry(), "https://mod.example.org")
    for text in (mattermost_body(alert)["text"], str(teams_body(alert))):
        assert "@channel" not in text and "@here" not in text
        assert "[click](https" not in text
    assert "[#42](https://mod.example.org/items/42)" in mattermost_body(alert)["text"]


def test_teams_gets_an_adaptive_card_with_a_button_to_the_item() -> None:
    card = teams_body(alert_from_entry(entry(), "https://mod.example.org"))["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["actions"][0]["url"] == "https://mod.example.org/items/42"


def test_the_json_body_keeps_the_raw_text_and_the_trigger_numbers() -> None:
    body = json_body(alert_from_entry(entry(), "https://mod.example.org"))
    assert body["comments"][0]["excerpt"] == HOSTILE
    assert body["facts"]["flagged"] == 6 and "comments" not in body["facts"]
    assert (body["id"], body["key"], body["post_title"]) == (
        7,
        "pile_on:site/p1:2026-03-01T10:00Z",
        "Local election results",
    )


def test_an_email_has_a_subject_a_plain_body_and_a_message_id_fixed_per_alert() -> None:
    alert = alert_from_entry(entry(), "https://mod.example.org")
    message = email_message(alert, "alerts@example.org", ["mods@example.org"])
    assert message["Subject"] == "[moderation] Pile-on on “Local election results”"
    assert message["Message-ID"] == email_message(alert, "alerts@example.org", ["x@example.org"])["Message-ID"]
    assert message["Message-ID"].endswith("@example.org>")
    assert "https://mod.example.org/items/42" in text_body(alert)
    assert "* troll (attack_on_commenter 0.93, insult 0.90, attack on Ann)" in text_body(alert)

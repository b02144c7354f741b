from datetime import UTC, datetime, timedelta

from moderation.alerts.outbox import backoff
from moderation.alerts.triggers import alerts_for_new_items, backlog_alert, queue_alert_rule, window_start
from moderation.config import AlertsSettings, DeliverySettings
from moderation.models import FlaggedItem

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
EVERYTHING = [{"name": "hook", "kind": "webhook", "url_env": "HOOK"}]


def settings(**extra: object) -> AlertsSettings:
    return AlertsSettings.model_validate({"channels": EVERYTHING, **extra})


def item(
    n: int,
    minutes: float = 0,
    *,
    post: str | None = "p1",
    reasons: dict[str, float] | None = None,
    scores: dict[str, float] | None = None,
    priority: float = 1.0,
) -> FlaggedItem:
    reasons = reasons if reasons is not None else {"insult": 0.85}
    return FlaggedItem(
        item_id=n,
        source="site",
        post_id=post,
        post_title="A post",
        comment_id=f"c{n}",
        author=f"user{n}",
        text=f"comment number {n} " * 30,
        reasons=reasons,
        scores=scores if scores is not None else reasons,
        attack_target=None,
        priority=priority,
        at=T0 + timedelta(minutes=minutes),
    )


def attack(n: int, minutes: float = 0, score: float = 0.6) -> FlaggedItem:
    return item(n, minutes, reasons={"attack_on_commenter": score}, priority=2.5 * score)


def test_a_threat_above_the_severe_threshold_causes_a_severe_alert() -> None:
    threat = item(1, reasons={"threat": 0.7}, priority=2.1)
    (alert,) = alerts_for_new_items([threat], [threat], settings())
    assert (alert.kind, alert.channels, alert.post_id) == ("severe", ("hook",), "p1")
    assert alert.key == "severe:site/p1:2026-03-01T10:00Z"
    assert alert.payload["thresholds"] == {"threat": 0.5}
    assert alert.payload["comments"][0]["item_id"] == 1


def test_an_insult_below_every_severe_threshold_causes_no_alert() -> None:
    insult = item(1, scores={"insult": 0.95, "threat": 0.2})
    assert alerts_for_new_items([insult], [insult], settings()) == []


def test_severe_uses_every_score_not_only_the_labels_that_flagged() -> None:
    flagged = item(1, reasons={"insult": 0.9}, scores={"insult": 0.9, "severe_toxicity": 0.85})
    (alert,) = alerts_for_new_items([flagged], [flagged], settings())
    assert alert.payload["thresholds"] == {"severe_toxicity": 0.8}


def test_an_item_flagged_for_an_urgent_label_causes_a_severe_alert_below_the_alert_thresholds() -> None:
    flagged = item(1, reasons={"severe_toxicity": 0.6}, scores={"severe_toxicity": 0.6, "toxicity": 0.9})
    assert alerts_for_new_items([flagged], [flagged], settings()) == []
    (alert,) = alerts_for_new_items([flagged], [flagged], settings(), urgent_labels=["threat", "severe_toxicity"])
    assert (alert.kind, alert.payload["flagged_for"], alert.payload["thresholds"]) == (
        "severe",
        ["severe_toxicity"],
        {},
    )


def test_a_high_urgent_score_without_the_label_flagged_needs_the_alert_threshold() -> None:
    insult = item(1, reasons={"insult": 0.9}, scores={"insult": 0.9, "threat": 0.45})
    assert alerts_for_new_items([insult], [insult], settings(), urgent_labels=["threat"]) == []


def test_the_queue_rule_carries_the_urgent_labels() -> None:
    threat = item(1, reasons={"threat": 0.6})
    rule = queue_alert_rule(settings(severe={"thresholds": {}}), urgent_labels=["threat"])
    assert rule is not None
    (alert,) = rule([threat], [threat])
    assert (alert.kind, alert.payload["flagged_for"]) == ("severe", ["threat"])


def test_several_severe_comments_on_one_post_in_one_window_make_one_alert() -> None:
    threats = [item(n, minutes=n * 5, reasons={"threat": 0.6 + n / 100}, priority=n) for n in range(1, 6)]
    (alert,) = [a for a in alerts_for_new_items(threats, threats, settings()) if a.kind == "severe"]
    assert alert.payload["count"] == 5
    assert [c["item_id"] for c in alert.payload["comments"]] == [5, 4, 3]  # the worst three
    assert all(len(c["excerpt"]) <= 200 for c in alert.payload["comments"])


def test_severe_comments_in_different_windows_or_posts_make_separate_alerts() -> None:
    threats = [
        item(1, 0, reasons={"threat": 0.9}),
        item(2, 61, reasons={"threat": 0.9}),
        item(3, 0, post="p2", reasons={"threat": 0.9}),
    ]
    keys = sorted(a.key for a in alerts_for_new_items(threats, threats, settings()))
    assert keys == [
        "severe:site/p1:2026-03-01T10:00Z",
        "severe:site/p1:2026-03-01T11:00Z",
        "severe:site/p2:2026-03-01T10:00Z",
    ]


def test_five_flagged_comments_within_the_window_are_a_pile_on() -> None:
    thread = [item(n, minutes=n * 10) for n in range(5)]
    (alert,) = alerts_for_new_items(thread[-1:], thread, settings())
    assert alert.kind == "pile_on" and alert.key == "pile_on:site/p1:2026-03-01T10:00Z"
    assert (alert.payload["flagged"], alert.payload["attacks"]) == (5, 0)


def test_flagged_comments_spread_wider_than_the_window_are_no_pile_on() -> None:
    thread = [item(n, minutes=n * 20) for n in range(5)]  # 80 minutes from first to last
    assert alerts_for_new_items(thread[-1:], thread, settings()) == []


def test_three_attacks_on_commenters_are_a_pile_on_below_the_flagged_count() -> None:
    thread = [attack(1, 0), item(2, 5), attack(3, 10), attack(4, 15)]
    (alert,) = alerts_for_new_items([thread[-1]], thread, settings())
    assert (alert.kind, alert.payload["flagged"], alert.payload["attacks"]) == ("pile_on", 4, 3)


def test_a_pile_on_growing_within_a_window_stays_one_alert() -> None:
    thread = [item(n, minutes=n) for n in range(8)]
    alerts = alerts_for_new_items(thread[4:], thread, settings())
    assert [a.key for a in alerts] == ["pile_on:site/p1:2026-03-01T10:00Z"]
    assert alerts[0].payload["flagged"] == 8


def test_zero_turns_a_pile_on_count_off() -> None:
    thread = [attack(n, n) for n in range(10)]
    assert alerts_for_new_items(thread, thread, settings(pile_on={"flagged": 0, "attacks": 0})) == []


def test_a_channel_only_gets_the_kinds_it_asked_for() -> None:
    channels = [
        {"name": "all", "kind": "webhook", "url_env": "A"},
        {"name": "piles", "kind": "slack", "url_env": "B", "alert_kinds": ["pile_on"]},
    ]
    thread = [item(n, minutes=n, reasons={"threat": 0.9}) for n in range(5)]
    alerts = {a.kind: a.channels for a in alerts_for_new_items(thread, thread, settings(channels=channels))}
    assert alerts == {"severe": ("all",), "pile_on": ("all", "piles")}


def test_without_channels_there_is_no_rule() -> None:
    assert queue_alert_rule(AlertsSettings()) is None
    backlog_only = [{"name": "b", "kind": "webhook", "url_env": "B", "alert_kinds": ["backlog"]}]
    assert queue_alert_rule(settings(channels=backlog_only)) is None


def test_a_long_queue_causes_a_backlog_alert_once_per_window() -> None:
    rules = settings(backlog={"max_pending": 10, "max_age_minutes": 0, "window_minutes": 360})
    alert = backlog_alert(11, T0, rules, T0 + timedelta(days=3))
    assert alert is not None and alert.key == "backlog:queue:2026-03-04T06:00Z"
    assert alert.payload["pending"] == 11 and alert.payload["max_age_minutes"] is None
    assert backlog_alert(10, T0, rules, T0) is None


def test_an_old_pending_item_causes_a_backlog_alert() -> None:
    rules = settings(backlog={"max_pending": 0, "max_age_minutes": 60})
    assert backlog_alert(1, T0, rules, T0 + timedelta(minutes=59)) is None
    alert = backlog_alert(1, T0, rules, T0 + timedelta(minutes=61))
    assert alert is not None and alert.payload["oldest_minutes"] == 61.0


def test_windows_are_fixed_and_utc() -> None:
    assert window_start(datetime(2026, 3, 1, 10, 59, tzinfo=UTC), 60) == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert window_start(datetime(2026, 3, 1, 23, 59, tzinfo=UTC), 24 * 60) == datetime(2026, 3, 1, tzinfo=UTC)


def test_backoff_doubles_from_the_first_retry_up_to_the_cap() -> None:
    rules = DeliverySettings(first_retry_seconds=30, max_retry_minutes=10)
    delays = [backoff(attempt, rules).total_seconds() for attempt in range(1, 8)]
    assert delays == [30, 60, 120, 240, 480, 600, 600]


def test_backoff_waits_at_least_as_long_as_the_server_asked_within_the_cap() -> None:
    rules = DeliverySettings(first_retry_seconds=30, max_retry_minutes=10)
    assert backoff(1, rules, retry_after=120).total_seconds() == 120
    assert backoff(1, rules, retry_after=10).total_seconds() == 30
    assert backoff(1, rules, retry_after=86400).total_seconds() == 600

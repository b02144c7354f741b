from pathlib import Path

from click.testing import CliRunner

from moderation.cli import cli
from moderation.config import Settings
from moderation.policy.unused_labels import unused_label_settings

SEVERE_CHANNEL = [{"name": "hook", "kind": "webhook", "url_env": "HOOK"}]


def _settings(**policy: object) -> Settings:
    return Settings.model_validate({"policy": policy})


def test_a_threshold_for_a_label_the_scorer_lacks_is_named_with_the_scorer() -> None:
    settings = _settings(thresholds={"threat": 0.5, "insult": 0.5}, severity={}, urgent_labels=[])
    assert unused_label_settings(settings, "lexicon", ("insult", "toxicity"), "c.toml") == [
        'c.toml: policy.thresholds.threat: scorer "lexicon" never produces "threat"; this threshold does nothing'
    ]


def test_severity_weights_and_urgent_labels_are_checked_too() -> None:
    settings = _settings(
        thresholds={}, severity={"severe_toxicity": 3.0, "blocked_word": 2.0}, urgent_labels=["threat"]
    )
    assert unused_label_settings(settings, "fast", ("insult",), "c.toml") == [
        'c.toml: policy.severity.severe_toxicity: scorer "fast" never produces "severe_toxicity"; '
        "this severity weight does nothing",
        'c.toml: policy.urgent_labels: scorer "fast" never produces "threat"; this urgent label does nothing',
    ]


def test_the_policys_own_reasons_and_the_attack_score_need_no_scorer_label() -> None:
    settings = _settings(thresholds={"attack_on_commenter": 0.5}, severity={"blocked_word": 2.0}, urgent_labels=[])
    assert unused_label_settings(settings, "fast", (), "c.toml") == []


def test_severe_alert_thresholds_are_checked_only_while_a_channel_wants_severe_alerts() -> None:
    quiet = Settings.model_validate({"policy": {"thresholds": {}, "severity": {}, "urgent_labels": []}})
    assert unused_label_settings(quiet, "fast", ("insult",), "c.toml") == []
    alerting = quiet.model_copy(
        update={"alerts": Settings.model_validate({"alerts": {"channels": SEVERE_CHANNEL}}).alerts}
    )
    assert [w.split(": ")[1] for w in unused_label_settings(alerting, "fast", ("insult",), "c.toml")] == [
        "alerts.severe.thresholds.threat",
        "alerts.severe.thresholds.severe_toxicity",
    ]


def test_the_cli_prints_the_warning_once_and_scores_anyway(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[policy]\nurgent_labels = ["threat"]\n[policy.thresholds]\ninsult = 0.5\nsevere_toxicity = 0.5\n'
        "[policy.severity]\ninsult = 1.5\n"
    )
    comments = tmp_path / "in.jsonl"
    comments.write_text('{"id": "1", "author": "a", "text": "hello"}\n')
    result = CliRunner().invoke(
        cli, ["score", "--config", str(config), "--input", str(comments), "--scorer", "lexicon"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f'Warning: {config}: policy.thresholds.severe_toxicity: scorer "lexicon" never produces "severe_toxicity"; '
        "this threshold does nothing",
        "scored 1 comments, flagged 0, skipped 0",
    ]
    assert [line.split('"')[3] for line in result.stdout.splitlines()] == ["1"]

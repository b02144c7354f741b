import logging
from pathlib import Path

import pytest

from moderation.alerts.channels import EmailChannel, SecretSource, WebhookChannel, build_channels
from moderation.config import EmailChannelSettings, WebhookChannelSettings, load_settings
from moderation.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_URL = "https://hooks.slack.com/services/T000/B000/very-secret-token"


def test_alerts_are_off_in_the_shipped_config() -> None:
    assert load_settings(PROJECT_ROOT / "config" / "moderation.toml", environ={}).alerts.channels == []


def test_channels_load_by_kind(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        """
[alerts]
base_url = "https://mod.example.org"
[[alerts.channels]]
name = "slack"
kind = "slack"
url_env = "MODERATION_SLACK_WEBHOOK"
[[alerts.channels]]
name = "mail"
kind = "email"
smtp_host = "smtp.example.org"
username = "alerts"
password_secret_block = "smtp-password"
sender = "alerts@example.org"
recipients = ["mods@example.org"]
alert_kinds = ["backlog"]
"""
    )
    alerts = load_settings(path, environ={}).alerts
    slack, mail = alerts.channels
    assert isinstance(slack, WebhookChannelSettings) and isinstance(mail, EmailChannelSettings)
    assert (mail.smtp_port, mail.security) == (587, "starttls")
    assert alerts.channels_for("backlog") == ("slack", "mail")
    assert alerts.channels_for("severe") == ("slack",)


def test_a_webhook_without_a_url_source_is_an_error_naming_the_channel(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[alerts.channels]]\nname = "slack"\nkind = "slack"\n')
    with pytest.raises(ConfigError, match=r"c\.toml: alerts\.channels\.0\.slack: Value error, give url_env"):
        load_settings(path, environ={})


def test_a_url_in_the_config_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[[alerts.channels]]\nname = "s"\nkind = "slack"\nurl_env = "X"\nurl = "{WEBHOOK_URL}"\n')
    with pytest.raises(ConfigError, match=r"alerts\.channels\.0\.slack\.url: unknown key"):
        load_settings(path, environ={})


def test_an_smtp_login_needs_a_password_source(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[[alerts.channels]]\nname = "m"\nkind = "email"\nsmtp_host = "h"\nusername = "u"\n'
        'sender = "a@b.c"\nrecipients = ["d@e.f"]\n'
    )
    with pytest.raises(ConfigError, match="give password_env"):
        load_settings(path, environ={})


def test_channel_names_must_be_unique(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[alerts.channels]]\nname = "a"\nkind = "webhook"\nurl_env = "X"\n' * 2)
    with pytest.raises(ConfigError, match="channel names must be unique: a"):
        load_settings(path, environ={})


def test_secrets_are_not_in_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    alerts = load_settings(environ={"MODERATION__ALERTS__BASE_URL": "https://x"}).alerts.model_copy(
        update={
            "channels": [
                WebhookChannelSettings(name="s", kind="slack", url_env="HOOK"),
                EmailChannelSettings(
                    name="m",
                    kind="email",
                    smtp_host="h",
                    username="u",
                    password_env="PW",
                    sender="a@b.c",
                    recipients=["d@e.f"],
                ),
            ]
        }
    )
    environ = {"HOOK": WEBHOOK_URL, "PW": "hunter2-smtp"}
    with caplog.at_level(logging.DEBUG):
        channels = build_channels(alerts, environ)
        logging.getLogger("moderation").info("channels: %r %s", channels, channels)
    source = SecretSource("webhook URL", "HOOK", None, environ)
    revealed = source.reveal()
    for text in (repr(channels), str(channels), caplog.text, repr(source), repr(revealed), str(revealed)):
        assert "very-secret-token" not in text and "hunter2" not in text
    assert revealed.get_secret_value() == WEBHOOK_URL
    assert isinstance(channels["s"], WebhookChannel) and isinstance(channels["m"], EmailChannel)

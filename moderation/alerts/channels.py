"""Where alerts go: small classes with `send(alert)`, chosen by `kind` in `[[alerts.channels]]`.

A channel raises AlertDeliveryError when a send fails; `permanent=True` when trying again cannot help
(HTTP 4xx other than 408/429, SMTP 5xx, bad credentials), so the outbox stops retrying.

Secrets (webhook URLs, SMTP passwords) come from an environment variable or a Prefect Secret block,
are read when a message is sent, are held as SecretStr, and never appear in errors or logs.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import httpx
from pydantic import SecretStr

from moderation.alerts import messages
from moderation.alerts.messages import Alert
from moderation.config import AlertsSettings, EmailChannelSettings, WebhookChannelSettings
from moderation.errors import AlertDeliveryError
from moderation.retry_after import retry_after
from moderation.webhooks import signed_headers

log = logging.getLogger(__name__)

RETRYABLE_HTTP = {408, 429}
WEBHOOK_FORMATS: dict[str, Callable[[Alert], dict[str, Any]]] = {
    "webhook": messages.json_body,
    "slack": messages.slack_body,
    "mattermost": messages.mattermost_body,
    "teams": messages.teams_body,
}


class Channel(Protocol):
    name: str

    def send(self, alert: Alert) -> None:
        """Deliver `alert` or raise AlertDeliveryError."""


# ---- secrets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretSource:
    """A secret named in the config: an environment variable, or a Prefect Secret block."""

    what: str
    env: str | None = None
    block: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def reveal(self) -> SecretStr:
        if self.env:
            value = self.environ.get(self.env)
            if not value:
                raise AlertDeliveryError(f"environment variable {self.env} ({self.what}) is not set")
            return SecretStr(value)
        if self.block:
            return SecretStr(_prefect_secret(self.block, self.what))
        raise AlertDeliveryError(f"no {self.what} configured")


Secret = SecretStr | SecretSource


def _reveal(secret: Secret) -> SecretStr:
    return secret if isinstance(secret, SecretStr) else secret.reveal()


def _prefect_secret(block: str, what: str) -> str:
    from prefect.blocks.system import Secret as PrefectSecret

    try:
        loaded = PrefectSecret.load(block, _sync=True)  # type: ignore[call-arg]  # sync even inside an event loop
        value = cast("PrefectSecret[Any]", loaded).get()
    except Exception as exc:  # any failure to reach or read the block: name it, never echo a value
        raise AlertDeliveryError(
            f"could not read Prefect Secret block {block!r} ({what}): {type(exc).__name__}"
        ) from None
    return str(value)


class _RedactSecrets(logging.Filter):
    """httpx logs each request's URL at INFO; a webhook URL is a secret, so it is replaced."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_redact(arg, self.secrets) for arg in args)
        return True


def _redact(value: object, secrets: set[str]) -> object:
    text = str(value)
    if any(secret in text for secret in secrets):
        for secret in secrets:
            text = text.replace(secret, "[secret]")
        return text
    return value


_REDACT = _RedactSecrets()
logging.getLogger("httpx").addFilter(_REDACT)


# ---- webhooks -------------------------------------------------------------------------------------


class WebhookChannel:
    """POST the alert as JSON: generic, or Slack / Mattermost / Teams incoming-webhook format."""

    def __init__(
        self,
        name: str,
        kind: str,
        url: Secret,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        signing_secret: Secret | None = None,
    ) -> None:
        if kind not in WEBHOOK_FORMATS:
            raise ValueError(f"unknown webhook kind {kind!r}: use one of {', '.join(WEBHOOK_FORMATS)}")
        self.name = name
        self.kind = kind
        self._url = url
        self._timeout = timeout
        self._transport = transport
        self._signing_secret = signing_secret

    def __repr__(self) -> str:
        return f"WebhookChannel(name={self.name!r}, kind={self.kind!r})"

    def send(self, alert: Alert) -> None:
        url = _reveal(self._url).get_secret_value()
        _REDACT.secrets.add(url)
        body = json.dumps(WEBHOOK_FORMATS[self.kind](alert), ensure_ascii=False).encode("utf-8")
        headers = {
            "Idempotency-Key": f"{alert.id}:{alert.key}",
            "User-Agent": "comment-moderation-alerts",
            "Content-Type": "application/json",
        }
        if self._signing_secret is not None:
            secret = _reveal(self._signing_secret).get_secret_value()
            headers.update(signed_headers(secret, f"alert_{alert.id}", datetime.now(UTC), body))
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport, follow_redirects=False) as client:
                response = client.post(url, content=body, headers=headers)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            reason = f"{self.name}: the webhook URL is not valid ({type(exc).__name__})"
            raise AlertDeliveryError(reason, permanent=True) from None
        except httpx.HTTPError as exc:
            detail = str(exc).replace(url, "[secret]") or type(exc).__name__
            raise AlertDeliveryError(f"{self.name}: {type(exc).__name__}: {detail}") from None
        _check_response(self.name, response)


def _check_response(name: str, response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    body = " ".join(response.text.split())[:200]
    message = f"{name}: HTTP {status} {response.reason_phrase}" + (f": {body}" if body else "")
    if status in RETRYABLE_HTTP or status >= 500:
        seconds, date = retry_after(response)
        raise AlertDeliveryError(message, retry_after=seconds, retry_at=date)
    raise AlertDeliveryError(message, permanent=True)


# ---- email ----------------------------------------------------------------------------------------


class EmailChannel:
    """Plain-text mail over SMTP: STARTTLS (default), TLS from the start, or none; optional login."""

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: list[str],
        security: str = "starttls",
        username: str | None = None,
        password: Secret | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.host, self.port, self.security = host, port, security
        self.sender, self.recipients = sender, list(recipients)
        self.username, self._password = username, password
        self.ca_file, self._timeout = ca_file, timeout

    def __repr__(self) -> str:
        return f"EmailChannel(name={self.name!r}, host={self.host!r}, port={self.port})"

    def send(self, alert: Alert) -> None:
        message = messages.email_message(alert, self.sender, self.recipients)
        password = _reveal(self._password).get_secret_value() if self.username and self._password else None
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=self._tls())
                if self.username and password is not None:
                    smtp.login(self.username, password)
                refused = smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise AlertDeliveryError(f"{self.name}: login refused: {_smtp_reply(exc)}", permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            reason = f"{self.name}: every recipient refused: {sorted(exc.recipients)}"
            raise AlertDeliveryError(reason, permanent=True) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise AlertDeliveryError(f"{self.name}: the server does not support it: {exc}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise AlertDeliveryError(f"{self.name}: {_smtp_reply(exc)}", permanent=permanent) from None
        except ssl.SSLCertVerificationError as exc:
            raise AlertDeliveryError(f"{self.name}: server certificate: {exc.verify_message}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise AlertDeliveryError(f"{self.name}: {type(exc).__name__}: {exc}") from None
        if refused:
            log.warning("%s: alert %s not accepted for %s", self.name, alert.id, sorted(refused))

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self._timeout, context=self._tls())
        return smtplib.SMTP(self.host, self.port, timeout=self._timeout)

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"


# ---- from the config ------------------------------------------------------------------------------


def build_channels(settings: AlertsSettings, environ: Mapping[str, str]) -> dict[str, Channel]:
    """One channel per `[[alerts.channels]]` entry; secrets are looked up when a message is sent."""
    channels: dict[str, Channel] = {}
    timeout = settings.delivery.timeout_seconds
    for config in settings.channels:
        if isinstance(config, WebhookChannelSettings):
            url = SecretSource(f"webhook URL of {config.name}", config.url_env, config.url_secret_block, environ)
            signing = (
                SecretSource(f"signing secret of {config.name}", config.signing_secret_env, None, environ)
                if config.signing_secret_env
                else None
            )
            channels[config.name] = WebhookChannel(
                config.name, config.kind, url, timeout=timeout, signing_secret=signing
            )
        elif isinstance(config, EmailChannelSettings):
            password = SecretSource(
                f"SMTP password of {config.name}", config.password_env, config.password_secret_block, environ
            )
            channels[config.name] = EmailChannel(
                config.name,
                host=config.smtp_host,
                port=config.smtp_port,
                sender=config.sender,
                recipients=config.recipients,
                security=config.security,
                username=config.username,
                password=password,
                ca_file=config.ca_file,
                timeout=timeout,
            )
    return channels

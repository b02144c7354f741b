"""Configuration: one TOML file, environment overrides, validated once at load.

Precedence: built-in defaults < the TOML file < environment variables.
Environment variables:
  MODERATION_CONFIG          path of the TOML file (default config/moderation.toml)
  MODERATION_DATABASE_URL    overrides database.url
  MODERATION_SCORER          overrides scoring.scorer
  MODERATION_SECRET_KEY      overrides web.secret_key (the session signing key)
  MODERATION__A__B=value     overrides any key a.b (pydantic-settings, `__` nests; a list or table as JSON)
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from moderation.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/moderation.toml")
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
ReasonCode = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,50}$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(StrictModel):
    url: str = "sqlite:///moderation.db"
    """SQLAlchemy URL of the moderation database; a relative SQLite path is under the working directory."""


class DetoxifySettings(StrictModel):
    model: str = "original"
    """Published Detoxify model name (original, unbiased, multilingual, original-small, unbiased-small)."""
    checkpoint: str | None = None
    """Local Detoxify checkpoint file; when set, nothing is downloaded."""
    huggingface_config_path: str | None = None
    """Local folder with the transformer's config.json and tokenizer files (offline loading)."""
    device: str = "cpu"
    """Torch device: auto (CUDA when present, else CPU), cpu, cuda, cuda:0, ..."""
    batch_size: int = Field(default=32, ge=1)
    """Comments per forward pass (sorted by length, so padding stays small)."""


class AccurateSettings(StrictModel):
    model_dir: str | None = None
    """Folder with the accurate model's deltas.safetensors and model.json (default: the one shipped in the package)."""
    cache_dir: str = "~/.cache/comment-moderation"
    """Where the merged Detoxify checkpoint is written on first use (one folder per artifact hash)."""
    device: str = "auto"
    """Torch device: auto (CUDA when present, else CPU), cpu, cuda, cuda:0, ..."""
    batch_size: int = Field(default=32, ge=1)
    """Comments per forward pass (sorted by length, so padding stays small)."""
    threads: int = Field(default=0, ge=0)
    """CPU threads (torch's or ONNX Runtime's); 0: ONNX Runtime takes every core this process may use (its threads
    wait rather than spin, so a core busy with other work costs little); torch takes those cores minus the 1-minute
    load average, at least 1."""
    runtime: Literal["onnx", "torch"] = "onnx"
    """onnx: the model Detoxify loads, exported once to ONNX and scored on ONNX Runtime's CPU provider, the same
    scores without importing torch in later runs; torch: scored by torch itself (on `device`: set it for a GPU)."""


class CascadeSettings(StrictModel):
    screen: str = "fast"
    """Scorer that screens every comment (cheap)."""
    accurate: str = "accurate:int8"
    """Scorer that rescores comments in the band (loaded only when the first one falls in it): the accurate tier's
    int8 copy (1.6 to 2.1 times as fast, rechecked near the thresholds by the fp32 model; decisions reported against
    the fp32 `accurate` alone, reports/cascade.md)."""
    bands: dict[str, tuple[Probability, Probability]] = Field(
        default_factory=lambda: {
            "toxicity": (0.0950, 0.9799),
            "severe_toxicity": (0.0478, 0.5691),
            "obscene": (0.3134, 0.9934),
            "threat": (0.0115, 0.3279),
            "insult": (0.1528, 0.9287),
            "identity_attack": (0.0093, 0.5781),
        }
    )
    """Per label, [low, high): a comment is rescored when any label's screen score (refitted, with a screen fit)
    falls in its band (chosen for decisions by `moderation train cascade`: reports/cascade.md). Chosen for the
    shipped models, as the shipped config's are (a unit test keeps the two equal)."""
    screen_fit: str | None = None
    """JSON file from `moderation train cascade` that refits the screen's scores to estimate the accurate tier's;
    unset: the one shipped in the package, when the tiers are fast and accurate; "" (empty): none."""
    recheck_bands: dict[str, tuple[Probability, Probability]] = Field(
        default_factory=lambda: {
            "toxicity": (0.3853, 0.4665),
            "severe_toxicity": (0.2823, 0.3063),
            "obscene": (0.8454, 0.8697),
            "threat": (0.1400, 0.1529),
            "insult": (0.5015, 0.5720),
            "identity_attack": (0.1445, 0.1945),
        }
    )
    """With `accurate = "accurate:int8"`: per label, [low, high) of the int8 copy's score around the flag threshold,
    where its flag differed from the fp32 model's on dev rows (chosen by `moderation train cascade`:
    reports/cascade.md). An escalated comment scored there is scored again by the fp32 `accurate` (loaded only when
    the first such comment comes). {} (empty): no recheck. Ignored with any other accurate tier. As with `bands`,
    chosen for the shipped models and equal to the shipped config's."""

    def __hash__(self) -> int:  # scorers are cached per settings; a dict field is not hashable by default
        bands = tuple(sorted(self.bands.items())), tuple(sorted(self.recheck_bands.items()))
        return hash((self.screen, self.accurate, bands, self.screen_fit))


class FastSettings(StrictModel):
    model_dir: str | None = None
    """Folder with the fast model's model.npz and model.json (default: the model shipped in the package)."""
    evidence_min_score: Probability | None = None
    """Labels scoring at least this get evidence (the spans of the words that drove the score); unset: each
    label's default threshold, chosen when the model was trained."""


class ScoringSettings(StrictModel):
    scorer: str = "cascade"
    """Scorer used by the flow: cascade (fast screens, accurate rescores the uncertain; offline default), fast,
    accurate, lexicon, or detoxify (or detoxify:<model>)."""
    batch_size: int = Field(default=256, ge=1)
    """Comments scored and written per batch in the flow."""
    detoxify: DetoxifySettings = DetoxifySettings()
    fast: FastSettings = FastSettings()
    accurate: AccurateSettings = AccurateSettings()
    cascade: CascadeSettings = CascadeSettings()


class CommenterRules(StrictModel):
    """`[policy.commenters]`: rules about who wrote a comment (states are set with `moderation commenter set`)."""

    rejection_rate: Probability | None = None
    """Queue every comment of a commenter whose comments within `window_days` were rejected at this rate or
    more (Coral's rule; None: off). They leave pre-moderation as the rejections age out of the window."""
    window_days: int = Field(default=30, ge=1)
    """How far back `rejection_rate` looks."""
    min_comments: int = Field(default=5, ge=1)
    """`rejection_rate` judges only commenters with at least this many comments in the window."""
    review_first: int = Field(default=0, ge=0)
    """Queue the first N comments of every commenter the source identifies (0: off)."""


class ReportRules(StrictModel):
    """`[policy.reports]`: what readers' reports do."""

    queue_at: int = Field(default=3, ge=1)
    """This many reports queue a comment whatever its score."""
    priority_per_report: float = Field(default=0.25, ge=0.0)
    """Each report raises a queued item's priority by this much ..."""
    max_priority_boost: float = Field(default=1.0, ge=0.0)
    """... up to this much in all."""


class PolicySettings(StrictModel):
    thresholds: dict[str, Probability] = Field(
        default_factory=lambda: {
            "toxicity": 0.43,
            "severe_toxicity": 0.3,
            "obscene": 0.86,
            "threat": 0.14,
            "insult": 0.54,
            "identity_attack": 0.17,
            "attack_on_commenter": 0.5,
        }
    )
    """Per-label score at or above which a comment is flagged."""
    severity: dict[str, Annotated[float, Field(ge=0.0)]] = Field(
        default_factory=lambda: {
            "threat": 3.0,
            "severe_toxicity": 3.0,
            "attack_on_commenter": 2.5,
            "identity_attack": 2.0,
            "insult": 1.5,
            "toxicity": 1.0,
            "obscene": 0.5,
        }
    )
    """Weight of each label in the queue priority (priority = max of weight x score over flagged labels; a label
    without a weight counts 1)."""
    urgent_labels: list[str] = Field(default_factory=lambda: ["threat", "severe_toxicity"])
    """An item flagged for any of these labels ranks above every item that is not, whatever the other scores, and
    causes a `severe` alert."""
    trusted_authors: list[str] = Field(default_factory=list)
    """Registered users whose comments are never queued (staff accounts), as `<source name>:<user id>`,
    e.g. "blog:1" for WordPress user 1 of source "blog". Display names are refused: a guest can type any name."""
    blocked_words: list[str] = Field(default_factory=list)
    """Words or phrases that always send a comment to the queue."""
    commenters: CommenterRules = CommenterRules()
    reports: ReportRules = ReportRules()

    @field_validator("trusted_authors")
    @classmethod
    def _identities_not_names(cls, authors: list[str]) -> list[str]:
        return registered_users(authors)


def registered_users(authors: list[str]) -> list[str]:
    """`authors` if each is `<source name>:<user id>`; a display name is refused (a guest can type any name)."""
    for author in authors:
        source, _, user_id = author.partition(":")
        if not source.strip() or not user_id.strip() or user_id.strip() in ("0", ""):
            raise ValueError(
                f"{author!r} is not a registered user: write <source name>:<user id>, e.g. 'blog:1' "
                "(display names are never trusted: a guest can type any name)"
            )
    return authors


class SourcePolicySettings(StrictModel):
    """One source's own policy: `[sources.policy]`. Thresholds override the global ones label by label; the
    lists add to the global ones. Whatever is left out is `[policy]`'s."""

    thresholds: dict[str, Probability] = Field(default_factory=dict)
    """Per-label thresholds for this source's comments, replacing `policy.thresholds` for the labels named."""
    trusted_authors: list[str] = Field(default_factory=list)
    """More trusted registered users of this source, as `<this source's name>:<user id>`."""
    blocked_words: list[str] = Field(default_factory=list)
    """More words or phrases that send this source's comments to the queue."""

    @field_validator("trusted_authors")
    @classmethod
    def _identities_not_names(cls, authors: list[str]) -> list[str]:
        return registered_users(authors)


class SiteActionSettings(StrictModel):
    """What moderators' decisions (and pre-moderation) do on the site: `[sources.actions]`. Without it,
    decisions stay in this database."""

    kind: Literal["site", "webhook", "file"] = "site"
    """site: change the comment on the source itself (wordpress, sql); webhook: a signed JSON POST per
    decision; file: append one JSON line per decision to `path`."""
    reject_status: Literal["spam", "trash"] = "trash"
    """wordpress: the status a rejected comment gets."""
    reject_status_by_reason: dict[str, Literal["spam", "trash"]] = Field(default_factory=dict)
    """wordpress: the status per reason code, overriding reject_status (e.g. {spam = "spam"})."""
    hold_threshold: Probability | None = None
    """Pre-moderation: a comment flagged with a score at or above this is held on the site at once (WordPress
    `hold`; sql: statuses.hold) until a moderator approves or rejects it. Off when absent."""
    status_column: str | None = None
    """sql: the column of the source table that a decision sets (values from `statuses`)."""
    statement: str | None = None
    """sql: instead of status_column, a statement run per decision with :status and :id (the comment id)."""
    statuses: dict[Literal["approve", "reject", "hold"], str] = Field(default_factory=dict)
    """sql: the value each decision sets; a decision not listed changes nothing on the site."""
    url: str | None = None
    """webhook: the receiver's URL (https, or http on loopback)."""
    secret_env: str | None = None
    """webhook: environment variable holding the signing secret (Standard Webhooks: `whsec_...` or raw)."""
    path: str | None = None
    """file: the JSON-lines file decisions are appended to."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    """HTTP timeout of one delivery (wordpress, webhook)."""

    @model_validator(mode="after")
    def _complete(self) -> SiteActionSettings:
        if self.kind == "webhook" and not (self.url and self.secret_env):
            raise ValueError("a webhook action needs url and secret_env")
        if self.kind == "file" and not self.path:
            raise ValueError("a file action needs path")
        if self.status_column and self.statement:
            raise ValueError("give status_column or statement, not both")
        return self


class SourceCommonSettings(StrictModel):
    """Keys every source kind has besides its own: its name, what applies to its comments, who reviews them."""

    name: str = Field(min_length=1)
    """Unique source name; comment and post ids are unique per source."""
    policy: SourcePolicySettings | None = None
    """This source's own thresholds, trusted authors and blocked words (see SourcePolicySettings)."""
    reason_codes: list[ReasonCode] | None = None
    """The reasons moderators pick from when rejecting this source's comments, instead of review.reason_codes."""

    @field_validator("reason_codes")
    @classmethod
    def _unique_codes(cls, codes: list[str] | None) -> list[str] | None:
        if codes is not None and (not codes or len(set(codes)) != len(codes)):
            raise ValueError("reason codes must be unique, and at least one")
        return codes

    @model_validator(mode="after")
    def _trusted_here(self) -> SourceCommonSettings:
        for author in self.policy.trusted_authors if self.policy else []:
            if author.partition(":")[0].strip() != self.name:
                raise ValueError(
                    f"policy.trusted_authors: {author!r} is not a user of source {self.name!r}: "
                    f"write '{self.name}:<user id>' (a user of another source goes under that source or [policy])"
                )
        return self


class FileSourceSettings(SourceCommonSettings):
    kind: Literal["jsonl", "csv"]
    """File format of the comments."""
    path: str
    """Comments file, relative to the working directory."""
    posts: str | None = None
    """Optional JSON/JSONL file of posts (id, title, body, author, published_at)."""
    page_size: int = Field(default=1000, ge=1)
    """Records stored per page; the watermark advances after each stored page."""
    actions: SiteActionSettings | None = None
    """What decisions do on the site (see SiteActionSettings)."""


class FolderSourceSettings(SourceCommonSettings):
    kind: Literal["folder"]
    path: str
    """Folder of comment files (*.jsonl, *.ndjson, *.csv); each file is read once, a changed file again."""
    pattern: str = "*"
    """Glob of the file names to read; names starting with '.' and ending in .tmp or .part are skipped."""
    posts: str | None = None
    page_size: int = Field(default=1000, ge=1)
    actions: SiteActionSettings | None = None


class SqlColumns(StrictModel):
    """Which column of the source table holds each field."""

    id: str = "id"
    post: str | None = "post_id"
    author: str | None = "author"
    parent: str | None = "parent_id"
    time: str = "created_at"
    text: str = "text"
    updated: str | None = None
    """Set on insert and on every edit (NOT NULL); when given, it is the keyset column, so edits are re-read."""
    author_id: str | None = None
    """The commenter's user id on the site (empty, 0 or NULL: a guest); `policy.trusted_authors` matches it."""
    author_email: str | None = None
    """The commenter's e-mail address; only its sha256 (lower-cased) is stored."""
    status: str | None = None
    """The comment's status on the site; `approved_values` and `removed_values` say what its values mean."""
    reports: str | None = None
    """Readers' reports on the comment: a count, or JSON as in a comments file ({"count": 3, "reasons": [...]})."""


class SqlSourceSettings(SourceCommonSettings):
    kind: Literal["sql"]
    url: str
    """SQLAlchemy URL of the database holding the comments, without the password."""
    password_env: str | None = None
    """Environment variable holding the database password."""
    table: str
    """Table (or view) of comments; "schema.table" for another schema."""
    columns: SqlColumns = SqlColumns()
    page_size: int = Field(default=1000, ge=1)
    lookback_seconds: int = Field(default=0, ge=0)
    """Re-read this many seconds before the watermark on each run, to catch rows committed late."""
    approved_values: list[str] = Field(default_factory=list)
    """Values of columns.status that mean public (e.g. ["1"] for WordPress's comment_approved); a queued
    comment that turns approved on the site has its queue item approved by actor `site`."""
    removed_values: list[str] = Field(default_factory=list)
    """Values of columns.status that mean removed (e.g. ["spam", "trash"]): the queue item is rejected by
    `site`. Other values count as held (waiting on the site)."""
    url_template: str | None = None
    """The comment's address on the site, from its {id} and {post_id}, e.g.
    "https://forum.example.org/t/{post_id}#comment-{id}" (shown as "view on site")."""

    @field_validator("url_template")
    @classmethod
    def _known_placeholders(cls, template: str | None) -> str | None:
        if template is not None:
            try:
                template.format(id="1", post_id="1")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"{template!r}: use only the placeholders {{id}} and {{post_id}} ({exc})") from exc
        return template

    actions: SiteActionSettings | None = None
    """What decisions do on the site (see SiteActionSettings)."""


class WordPressSourceSettings(SourceCommonSettings):
    kind: Literal["wordpress"]
    url: str
    """Site address, e.g. https://blog.example.org (the REST API is under /wp-json/wp/v2/)."""
    user: str | None = None
    """WordPress user for an application password (needed to read held comments)."""
    password_env: str | None = None
    """Environment variable holding that user's application password."""
    statuses: list[Literal["approve", "hold", "spam", "trash"]] | None = None
    """Comment statuses to read. Default: all four with user and password_env, approve (public) without;
    hold, spam and trash need them (and HTTPS). Approving, spamming or trashing a queued comment on the
    site closes its queue item."""
    lookback_seconds: int = Field(default=86400, ge=0)
    """Re-read comments written this long before the run: WordPress has no modified date for comments,
    so edits, late approvals and status changes in this window are caught; older ones are not."""
    timeout_seconds: float = Field(default=30.0, gt=0)
    """HTTP timeout per request."""
    actions: SiteActionSettings | None = None
    """What decisions do on the site (see SiteActionSettings)."""

    @model_validator(mode="before")
    @classmethod
    def _status_became_statuses(cls, data: Any) -> Any:
        if isinstance(data, dict) and "status" in data:
            raise ValueError(
                f"status was replaced by statuses, a list: statuses = [{json.dumps(str(data['status']))}] "
                "(leave it out to read every status the credentials allow)"
            )
        return data


SourceSettings = Annotated[
    FileSourceSettings | FolderSourceSettings | SqlSourceSettings | WordPressSourceSettings,
    Field(discriminator="kind"),
]


class ScheduleSettings(StrictModel):
    name: str = "scheduled"
    """Deployment name: runs show as moderate/<name> in the Prefect UI."""
    cron: list[str] = Field(default_factory=lambda: ["*/5 * * * *"])
    """Cron expressions for `moderation serve`; one run per match."""
    interval_seconds: float | None = Field(default=None, gt=0)
    """Instead of cron: a run every this many seconds."""
    timezone: str = "UTC"
    """IANA time zone the cron expressions are read in."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as UTC or Europe/Berlin") from exc
        return value


class RunnerSettings(StrictModel):
    kind: Literal["thread", "dask"] = "thread"
    """Where scoring batches run: thread (in the flow's process) or dask (Dask workers, other machines)."""
    n_workers: int = Field(default=4, ge=1)
    """Threads (thread), or local Dask worker processes when no address is given (dask)."""
    address: str | None = None
    """Dask scheduler address, e.g. tcp://10.0.0.5:8786; workers there need this package and the database."""
    retries: int = Field(default=3, ge=0)
    """Retries of reading a source before its task fails (the other sources carry on)."""
    retry_delay_seconds: list[float] = Field(default_factory=lambda: [1.0, 5.0, 15.0])
    """Wait before each retry; the last value repeats."""


AlertKind = Literal["severe", "pile_on", "backlog"]
ALERT_KINDS: tuple[AlertKind, ...] = ("severe", "pile_on", "backlog")


class SevereAlertSettings(StrictModel):
    thresholds: dict[str, Probability] = Field(
        default_factory=lambda: {"threat": 0.5, "severe_toxicity": 0.8, "attack_on_commenter": 0.9}
    )
    """A newly queued comment with any of these scores at or above its value causes a `severe` alert."""
    window_minutes: int = Field(default=60, ge=1)
    """At most one severe alert per post per window of this many minutes."""


class PileOnAlertSettings(StrictModel):
    flagged: int = Field(default=5, ge=0)
    """This many flagged comments on one post within the window cause a `pile_on` alert (0: off)."""
    attacks: int = Field(default=3, ge=0)
    """This many attacks on commenters on one post within the window cause a `pile_on` alert (0: off)."""
    window_minutes: int = Field(default=60, ge=1)
    """Length of the window; at most one pile-on alert per post per window."""


class BacklogAlertSettings(StrictModel):
    max_pending: int = Field(default=200, ge=0)
    """More pending items than this cause a `backlog` alert (0: off)."""
    max_age_minutes: int = Field(default=24 * 60, ge=0)
    """A pending item older than this causes a `backlog` alert (0: off)."""
    window_minutes: int = Field(default=6 * 60, ge=1)
    """At most one backlog alert per window of this many minutes."""


class DeliverySettings(StrictModel):
    first_retry_seconds: float = Field(default=30.0, gt=0)
    """Delay before the first retry of a failed send; each further retry waits twice as long."""
    max_retry_minutes: float = Field(default=60.0, gt=0)
    """Longest delay between retries: a channel that is down for hours is retried at least this often."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    """Connect/read timeout of one send."""
    claim_timeout_minutes: float = Field(default=10.0, gt=0)
    """An alert claimed by a deliverer that did not finish (it crashed) is taken over after this long."""
    batch_size: int = Field(default=100, ge=1)
    """Alerts sent per delivery run at most; the rest wait for the next run."""


def _one_secret_source(env: str | None, block: str | None, what: str, *, required: bool = True) -> None:
    """A secret comes from an environment variable or a Prefect Secret block, never from the file."""
    if env and block:
        raise ValueError(f"give {what}_env or {what}_secret_block, not both")
    if required and not (env or block):
        raise ValueError(f"give {what}_env (an environment variable) or {what}_secret_block (a Prefect Secret)")


class WebhookChannelSettings(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    """Unique channel name; shown in `moderation alerts list`."""
    kind: Literal["webhook", "slack", "mattermost", "teams"]
    """Message format: webhook (generic JSON), slack, mattermost, teams (Workflows adaptive card)."""
    url_env: str | None = None
    """Environment variable holding the webhook URL (the URL is a secret: never put it in this file)."""
    url_secret_block: str | None = None
    """Or: name of a Prefect Secret block holding the webhook URL."""
    signing_secret_env: str | None = None
    """webhook kind: environment variable holding a secret; each request is then signed in the Standard
    Webhooks format (webhook-id, webhook-timestamp, webhook-signature headers)."""
    alert_kinds: list[AlertKind] = Field(default_factory=lambda: list(ALERT_KINDS))
    """Which alerts this channel receives: severe, pile_on, backlog."""

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannelSettings:
        _one_secret_source(self.url_env, self.url_secret_block, "url")
        return self


class EmailChannelSettings(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    """Unique channel name."""
    kind: Literal["email"]
    """Email over SMTP."""
    smtp_host: str
    """SMTP server host name."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    """SMTP port: 587 for STARTTLS, 465 for TLS from the start, 25 for plain."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    """starttls (upgrade after connecting), tls (TLS from the start), none (loopback relays only)."""
    ca_file: str | None = None
    """PEM file of the CA that signed the server's certificate, for a private CA (default: system CAs)."""
    username: str | None = None
    """SMTP login; no login when unset."""
    password_env: str | None = None
    """Environment variable holding the SMTP password."""
    password_secret_block: str | None = None
    """Or: name of a Prefect Secret block holding the SMTP password."""
    sender: str
    """From address."""
    recipients: list[str] = Field(min_length=1)
    """To addresses."""
    alert_kinds: list[AlertKind] = Field(default_factory=lambda: list(ALERT_KINDS))
    """Which alerts this channel receives: severe, pile_on, backlog."""

    @model_validator(mode="after")
    def _password_with_username(self) -> EmailChannelSettings:
        _one_secret_source(
            self.password_env, self.password_secret_block, "password", required=self.username is not None
        )
        return self


ChannelSettings = Annotated[WebhookChannelSettings | EmailChannelSettings, Field(discriminator="kind")]


class AlertsSettings(StrictModel):
    base_url: str = "http://127.0.0.1:8000"
    """Address of the review web UI; messages link to {base_url}/items/{item_id}."""
    max_comments: int = Field(default=3, ge=1, le=20)
    """How many of the worst comments a message quotes."""
    quote_length: int = Field(default=200, ge=20)
    """Quoted comments are shortened to this many characters."""
    severe: SevereAlertSettings = SevereAlertSettings()
    pile_on: PileOnAlertSettings = PileOnAlertSettings()
    backlog: BacklogAlertSettings = BacklogAlertSettings()
    delivery: DeliverySettings = DeliverySettings()
    channels: list[ChannelSettings] = Field(default_factory=list)
    """Where alerts go; none configured means alerts are off."""

    @model_validator(mode="after")
    def _unique_channel_names(self) -> AlertsSettings:
        names = [channel.name for channel in self.channels]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"channel names must be unique: {', '.join(repeated)}")
        return self

    def channels_for(self, kind: str) -> tuple[str, ...]:
        return tuple(channel.name for channel in self.channels if kind in channel.alert_kinds)


class ReviewSettings(StrictModel):
    reason_codes: list[ReasonCode] = Field(
        default_factory=lambda: [
            "personal_attack",
            "insult",
            "hate_speech",
            "threat",
            "harassment",
            "spam",
            "off_topic",
            "other",
        ],
        min_length=1,
    )
    """Reasons a moderator picks from when rejecting (lower-case letters, digits and _), in display order."""
    claim_timeout_minutes: int = Field(default=15, ge=1)
    """An item opened by a moderator is theirs alone for this long, then anyone may take it."""
    page_size: int = Field(default=50, ge=1, le=500)
    """Items per queue page in the web UI."""

    @field_validator("reason_codes")
    @classmethod
    def _unique(cls, codes: list[str]) -> list[str]:
        if len(set(codes)) != len(codes):
            raise ValueError("reason codes must be unique")
        return codes


class WebSettings(StrictModel):
    host: str = "127.0.0.1"
    """Address `moderation web` listens on (127.0.0.1: this machine only; put a TLS proxy in front)."""
    port: int = Field(default=8000, ge=1, le=65535)
    """Port `moderation web` listens on."""
    base_url: str = ""
    """Address moderators open, e.g. https://moderation.example.org; an https address makes cookies Secure."""
    secret_key: SecretStr | None = None
    """Key that signs session cookies; set it with MODERATION_SECRET_KEY, not in this file. If unset, a key is
    generated once and kept in the database's app_secrets table."""
    session_hours: int = Field(default=12, ge=1)
    """A login lasts this long."""
    login_max_failures: int = Field(default=5, ge=1)
    """Failed logins allowed per user name and client address within login_window_minutes."""
    login_window_minutes: int = Field(default=15, ge=1)
    """Window for counting failed logins; a blocked client may try again when it has passed."""

    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")


class CoralSettings(StrictModel):
    """Coral Talk's external moderation phase: `POST /v1/coral/moderate` (`[api.coral]`)."""

    signing_secret_env: str | None = None
    """Environment variable holding the phase's signing secret (Coral shows it when the phase is created);
    requests whose X-Coral-Signature does not match are refused. Unset: the endpoint answers 404."""
    reject_threshold: Probability | None = None
    """A flagged comment whose strongest reason reaches this is REJECTED; other flagged comments are PREMOD
    (held for a moderator). Unset: never rejected outright."""
    approve_clean: bool = True
    """A comment the policy does not flag is APPROVED; false: answered 204, so Coral's own settings decide."""


class ApiSettings(StrictModel):
    """`moderation api`: the scoring service other systems call (`[api]`)."""

    host: str = "127.0.0.1"
    """Address `moderation api` listens on (127.0.0.1: this machine only; put a TLS proxy in front)."""
    port: int = Field(default=8100, ge=1, le=65535)
    """Port `moderation api` listens on."""
    workers: int = Field(default=2, ge=1)
    """Worker processes; each loads the scorer once and answers requests on its own."""
    scorer: str | None = None
    """Scorer of the service; unset: scoring.scorer (the flow's)."""
    record: bool = False
    """Store every scored comment in the database as source `source_name`, with its score and decision, so
    flagged ones reach the review queue (a request's doNotStore wins)."""
    source_name: str = Field(default="api", min_length=1, max_length=100)
    """The source name of recorded comments (and of `policy.trusted_authors` entries "<name>:<user id>")."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest request body; a larger one is refused with 413 before it is read."""
    max_comments: int = Field(default=256, ge=1)
    """Most comments (scored plus context) in one request to /v1/score."""
    max_comment_bytes: int = Field(default=20_480, ge=1)
    """Longest comment text, in UTF-8 bytes (Perspective's own limit is 3000)."""
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]] = Field(
        default_factory=lambda: ["en"], min_length=1
    )
    """Languages the scorer understands (ISO 639-1); a Perspective request for another gets
    LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE, as Perspective answers."""
    rate_limit: int = Field(default=600, ge=0)
    """Requests per API key per window (0: no limit). Counted in the database, so all workers share it."""
    rate_window_seconds: int = Field(default=60, ge=1)
    """Length of the rate-limit window."""
    shutdown_timeout_seconds: float = Field(default=10.0, gt=0)
    """On SIGTERM, requests in flight get this long to finish; new connections are refused at once."""
    coral: CoralSettings = CoralSettings()


class Settings(StrictModel):
    database: DatabaseSettings = DatabaseSettings()
    scoring: ScoringSettings = ScoringSettings()
    policy: PolicySettings = PolicySettings()
    review: ReviewSettings = ReviewSettings()
    web: WebSettings = WebSettings()
    api: ApiSettings = ApiSettings()
    sources: list[SourceSettings] = Field(default_factory=list)
    alerts: AlertsSettings = AlertsSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    runner: RunnerSettings = RunnerSettings()

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[Any]) -> list[Any]:
        names = [source.name for source in sources]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"source names must be unique, repeated: {', '.join(repeated)}")
        return sources

    def source_named(self, name: str) -> SourceSettings | None:
        return next((source for source in self.sources if source.name == name), None)

    def reason_codes_for(self, source: str) -> list[str]:
        """The reasons a moderator may give when rejecting a comment of `source`."""
        found = self.source_named(source)
        return list(found.reason_codes) if found and found.reason_codes else list(self.review.reason_codes)

    def reason_codes_by_source(self) -> dict[str, list[str]]:
        """The sources with reason codes of their own, and those codes."""
        return {source.name: list(source.reason_codes) for source in self.sources if source.reason_codes}


def secret_from_env(variable: str | None, what: str, environ: Mapping[str, str] | None = None) -> SecretStr | None:
    """The secret in environment variable `variable` (None when no variable is configured)."""
    if variable is None:
        return None
    value = (os.environ if environ is None else environ).get(variable)
    if value is None:
        raise ConfigError(f"{what}: environment variable {variable} is not set")
    return SecretStr(value)


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the TOML file (if any), apply environment overrides, validate."""
    env = dict(os.environ if environ is None else environ)
    config_path = chosen_config_path(path, env)
    data = _read_toml(config_path, required=path is not None or "MODERATION_CONFIG" in env)
    _apply_environment(data, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(config_path, exc)) from exc


def chosen_config_path(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The file load_settings reads: `path`, else $MODERATION_CONFIG, else config/moderation.toml."""
    env = os.environ if environ is None else environ
    return Path(path or env.get("MODERATION_CONFIG") or DEFAULT_CONFIG_PATH)


def _read_toml(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: config file not found")
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


ENV_PREFIX = "MODERATION__"
SHORTCUTS = {
    "MODERATION_DATABASE_URL": ("database", "url"),
    "MODERATION_SCORER": ("scoring", "scorer"),
    "MODERATION_SECRET_KEY": ("web", "secret_key"),
}


def _apply_environment(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for var, keys in SHORTCUTS.items():
        if var in env:
            _merge(data, dict(_nested(keys, env[var])), ())
    _merge(data, _EnvironmentOverrides(env)(), ())
    for var, value in env.items():  # pydantic-settings reads only known sections; the rest fail as unknown keys
        section = var.upper().removeprefix(ENV_PREFIX).partition("__")[0].lower()
        if var.upper().startswith(ENV_PREFIX) and section not in Settings.model_fields:
            data[section] = value


class _SettingsFromEnvironment(BaseSettings, Settings):  # type: ignore[misc]  # never built: only its fields are read
    """Settings as pydantic-settings sees them: it walks these fields to split `MODERATION__A__B` into a.b."""


class _EnvironmentOverrides(EnvSettingsSource):
    """`MODERATION__A__B=value` for every key a.b (case-insensitive; a list or table as JSON), read from
    `environ` rather than the process's environment."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(
            _SettingsFromEnvironment, case_sensitive=False, env_prefix=ENV_PREFIX, env_nested_delimiter="__"
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, False, self.env_ignore_empty, self.env_parse_none_str)


def _nested(keys: tuple[str, ...], value: Any) -> dict[str, Any]:
    return {keys[0]: value if len(keys) == 1 else _nested(keys[1:], value)}


def _first_key(value: Any, at: tuple[str, ...]) -> tuple[str, ...]:
    """The dotted key of the first value in a nest of tables (for the error that names it)."""
    while isinstance(value, Mapping) and value:
        key, value = next(iter(value.items()))
        at = (*at, key)
    return at


def _merge(data: dict[str, Any], overrides: Mapping[str, Any], at: tuple[str, ...]) -> None:
    """Lay `overrides` over `data`, table by table."""
    for key, value in overrides.items():
        where = (*at, key)
        if isinstance(value, Mapping):
            node = data.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment override {'.'.join(_first_key(value, where))}: {key} is not a table")
            _merge(node, value, where)
        else:
            data[key] = value


SECRET_LOOKING_KEYS = ("url", "password", "secret", "token", "key")
"""Values under keys containing these are never echoed in an error (a URL may hold a password)."""


def _describe(path: Path, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            problems.append(f"{path}: {key}: unknown key")  # its value may be anything, a password included
        else:
            problems.append(f"{path}: {key}: {error['msg']}{_shown_input(key, error.get('input'))}")
    return "\n".join(problems)


def _shown_input(key: str, value: Any) -> str:
    """` (got 1.5)` for a plain value; nothing for a table or list (it may hold secrets) or a secret-like key."""
    if isinstance(value, dict | list) or any(word in key.lower() for word in SECRET_LOOKING_KEYS):
        return ""
    return f" (got {value!r})"

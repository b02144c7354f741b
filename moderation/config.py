"""Configuration: one TOML file, environment overrides, validated once at load.

Precedence: built-in defaults < the TOML file < environment variables.
Environment variables:
  MODERATION_CONFIG          path of the TOML file (default config/moderation.toml)
  MODERATION_DATABASE_URL    overrides database.url
  MODERATION_SCORER          overrides scoring.scorer
  MODERATION__A__B=value     overrides any key a.b (value parsed as TOML, else a string)
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moderation.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/moderation.toml")
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


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
    """Torch CPU threads; 0 means every core this process may use."""


class CascadeSettings(StrictModel):
    screen: str = "fast"
    """Scorer that screens every comment (cheap)."""
    accurate: str = "accurate"
    """Scorer that rescores comments in the band, loaded only when one falls in it (accurate or detoxify:<model>)."""
    bands: dict[str, tuple[Probability, Probability]] = Field(default_factory=dict)
    """Per label, [low, high): a comment is rescored when any label's screen score falls in its band."""

    def __hash__(self) -> int:  # scorers are cached per settings; a dict field is not hashable by default
        return hash((self.screen, self.accurate, tuple(sorted(self.bands.items()))))


class ScoringSettings(StrictModel):
    scorer: str = "lexicon"
    """Scorer used by the flow: lexicon (offline default), accurate, cascade, or detoxify (or detoxify:<model>)."""
    batch_size: int = Field(default=256, ge=1)
    """Comments scored and written per batch in the flow."""
    detoxify: DetoxifySettings = DetoxifySettings()
    accurate: AccurateSettings = AccurateSettings()
    cascade: CascadeSettings = CascadeSettings()


class PolicySettings(StrictModel):
    thresholds: dict[str, Probability] = Field(
        default_factory=lambda: {
            "toxicity": 0.8,
            "severe_toxicity": 0.5,
            "obscene": 0.8,
            "threat": 0.5,
            "insult": 0.8,
            "identity_attack": 0.5,
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
    """Weight of each label in the queue priority (priority = max of weight x score over flagged labels)."""
    trusted_authors: list[str] = Field(default_factory=list)
    """Authors whose comments are never queued (staff accounts)."""
    blocked_words: list[str] = Field(default_factory=list)
    """Words or phrases that always send a comment to the queue."""


class SourceSettings(StrictModel):
    name: str = Field(min_length=1)
    """Unique source name; comment ids are unique per source."""
    kind: Literal["jsonl", "csv"]
    """File format of the comments."""
    path: str
    """Comments file, relative to the working directory."""
    posts: str | None = None
    """Optional JSON/JSONL file of posts (id, title, body, author, published_at)."""


class Settings(StrictModel):
    database: DatabaseSettings = DatabaseSettings()
    scoring: ScoringSettings = ScoringSettings()
    policy: PolicySettings = PolicySettings()
    sources: list[SourceSettings] = Field(default_factory=list)


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the TOML file (if any), apply environment overrides, validate."""
    env = dict(os.environ if environ is None else environ)
    config_path = Path(path or env.get("MODERATION_CONFIG") or DEFAULT_CONFIG_PATH)
    data = _read_toml(config_path, required=path is not None or "MODERATION_CONFIG" in env)
    _apply_environment(data, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(config_path, exc)) from exc


def _read_toml(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: config file not found")
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _apply_environment(data: dict[str, Any], env: dict[str, str]) -> None:
    shortcuts = {"MODERATION_DATABASE_URL": "database.url", "MODERATION_SCORER": "scoring.scorer"}
    for var, dotted in shortcuts.items():
        if var in env:
            _set_dotted(data, dotted.split("."), env[var])
    for var, raw in env.items():
        if var.startswith("MODERATION__"):
            keys = [k.lower() for k in var.removeprefix("MODERATION__").split("__")]
            _set_dotted(data, keys, _parse_value(raw))


def _set_dotted(data: dict[str, Any], keys: list[str], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"environment override {'.'.join(keys)}: {key} is not a table")
    node[keys[-1]] = value


def _parse_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _describe(path: Path, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{path}: {key}: {message} (got {error.get('input')!r})")
    return "\n".join(problems)

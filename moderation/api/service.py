"""What every endpoint shares: the scorer (loaded once per worker process), the policy, the database.

Endpoints turn their own request format into comments, call `score`, and turn the results back into
their own response format; recording in the database happens here, once, for all of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from moderation.api.problems import ApiProblem
from moderation.config import Settings
from moderation.models import Batch, Comment, Post
from moderation.pipeline import commenter_records, record_scored
from moderation.score_file import Failed, Scored, in_threads, score_in_threads
from moderation.scoring.base import Scorer, load_scorer
from moderation.scoring.cascade import LazyTextScorer
from moderation.storage.engine import Database

log = logging.getLogger(__name__)
WARM_UP_TEXTS = ("Thanks for the article.", "You are an idiot and everyone here knows it.")


@dataclass
class ScoringService:
    settings: Settings
    db: Database
    clock: Callable[[], float]
    """Seconds since the epoch (time.time); tests pass a fixed one."""
    scorer: Scorer | None = None
    load_error: str | None = None
    _loaded: threading.Event = field(default_factory=threading.Event)

    @property
    def scorer_name(self) -> str:
        return self.settings.api.scorer or self.settings.scoring.scorer

    @property
    def ready(self) -> bool:
        return self._loaded.is_set() and self.scorer is not None

    def load(self) -> None:
        """Load the scorer and every tier it would otherwise load on first use, then score a warm-up pair,
        so the first request is as fast as the others. Failure is kept for /readyz."""
        try:
            scorer = load_scorer(self.scorer_name, self.settings.scoring)
            _load_lazy_tiers(scorer)
            scorer.score(list(in_threads([Comment(f"w{i}", text, "") for i, text in enumerate(WARM_UP_TEXTS)], [])))
            self.scorer = scorer
            log.info("scorer %s/%s loaded", scorer.name, scorer.version)
        except Exception as exc:  # any failure to load is reported by /readyz, not a crash loop
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("scorer %s did not load: %s", self.scorer_name, self.load_error)
        finally:
            self._loaded.set()

    def score(
        self,
        comments: list[Comment],
        posts: Sequence[Post] = (),
        context: Iterable[Comment] = (),
        participants: Iterable[str] = (),
        *,
        store: bool = True,
    ) -> list[Scored | Failed]:
        """Score and decide each comment with its thread, as `moderation score` does; record the scored
        ones when `api.record` is on and `store` (a request's doNotStore is `store=False`)."""
        assert self.scorer is not None, "score() before the scorer was loaded"
        api = self.settings.api
        items = list(in_threads(comments, list(posts), context, participants))
        # A commenter's state (banned, always review) and history apply here as in the flow, stored or not.
        now = self.now()
        records = commenter_records(self.db, api.source_name, comments, self.settings.policy, now)
        outcomes = list(
            score_in_threads(
                items, self.scorer, self.settings.policy, api.source_name, self.settings.scoring.batch_size, records
            )
        )
        if api.record and store:
            self._record(comments, list(posts), [o for o in outcomes if isinstance(o, Scored)], now)
        return outcomes

    def now(self) -> datetime:
        """The service's clock as a UTC datetime (tests give the service a fixed clock)."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def _record(self, comments: list[Comment], posts: list[Post], scored: list[Scored], now: datetime) -> None:
        assert self.scorer is not None
        batch = Batch(source=self.settings.api.source_name, comments=comments, posts=posts)
        results = [(s.item.comment, s.score, s.decision) for s in scored]
        record_scored(
            self.db,
            batch,
            results,
            self.scorer.name,
            self.scorer.version,
            now,
            self.settings.policy,
            self.settings.alerts,
        )


def _load_lazy_tiers(scorer: Scorer) -> None:
    """A cascade loads its accurate tier on the first escalation (and the recheck tier on the first recheck); a
    service loads them before it is ready."""
    text_scorer = getattr(scorer, "text_scorer", None)
    for tier in (getattr(text_scorer, name, None) for name in ("screen", "accurate", "recheck")):
        if isinstance(tier, LazyTextScorer):
            _ = tier.scorer


def scored_or_problem(outcome: Scored | Failed) -> Scored:
    """One comment's outcome; a 500 answer naming the scorer's error when it failed on the comment."""
    if isinstance(outcome, Failed):
        raise ApiProblem(500, f"The scorer failed on this comment: {outcome.error}")
    return outcome

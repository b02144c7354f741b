"""`moderation` with one more scorer, "waits-for-stop", for the SIGTERM test (run as a script).

Its first batch writes the file named by $STARTED_FILE and then waits until the run is asked to stop,
so the test sends SIGTERM while a batch is provably being scored; later batches score at once (word
lists). The wait is on the run's own stop event, not a sleep.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

from moderation.cli import main
from moderation.models import CommentScore
from moderation.scoring.base import register_text_scorer
from moderation.scoring.lexicon import LexiconScorer
from moderation.stopping import STOP

WAIT_SECONDS = 600


class WaitsForStop(LexiconScorer):
    name = "waits-for-stop"
    _first = threading.Lock()

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        started = Path(os.environ["STARTED_FILE"])
        if self._first.acquire(blocking=False) and not started.exists():
            started.write_text(str(len(texts)), encoding="utf-8")
            if not STOP.wait(WAIT_SECONDS):
                raise RuntimeError("no SIGTERM came")
        return super().score_texts(texts)


if __name__ == "__main__":
    register_text_scorer("waits-for-stop", lambda settings, variant: WaitsForStop())
    main()

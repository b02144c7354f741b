"""End-to-end benchmark: the `moderate` flow on synthetic comments from a PostgreSQL table into PostgreSQL.

    python benchmarks/bench_pipeline.py                      # 10,000 then 100,000 comments
    python benchmarks/bench_pipeline.py --sizes 20000 --batch-size 500 --runner dask --n-workers 2

Each size runs in a fresh process, so peak RSS is per size: memory should be flat in the number of
comments, because sources are read in pages and scoring goes batch by batch. For each size it reports
comments/s, time per stage (ingest: read the source and store; read: claim comments and load their
threads; score: the scorer; write: scores, queue and audit rows), and the scoring time alone (the same
scorer on the same comments and threads, one batch after another, nothing else), with the ratio
total / scoring alone (target <= 1.5).

Needs PostgreSQL (default postgresql+psycopg://postgres@127.0.0.1:5432). It creates and drops the
databases moderation_bench_source and moderation_bench_store. Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCE_DB = "moderation_bench_source"
STORE_DB = "moderation_bench_store"
COMMENTS_PER_POST = 60  # about the mean; a few posts draw many of the comments

# ---- synthetic comments ----------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Ann Bob Cy Dana Eli Fay Gus Hana Ivo Jo Kim Lee Max Nia Olu Pia Quin Rae Sam Tao Uma Vic Wen Xia Yo Zed"
)
LAST = _words("Smith Novak Garcia Kim Okafor Rossi Silva Berg Haddad Ivanova Kowalski Sato Dubois Nguyen Meyer")
WORDS = _words(
    "the of and to in is that it was for on are as with his they at be this have from or one had by word but not "
    "what all were we when your can said there use an each which she do how their if will up other about out many "
    "then them these so some her would make like him into time has look two more write go see number no way could "
    "people my than first water been call who oil its now find long down day did get come made may part policy "
    "article government minister council vote election tax school hospital road city river plane pilot soviet war "
    "history family report evidence source data study court law price market energy climate season team match goal"
)
INSULTS = _words("idiot moron stupid loser clown fool troll liar dumb pathetic")
OBSCENE = _words("crap shit bullshit damn")
LARGEST_POST = 3000  # comments; post sizes follow a Pareto law below that


def _text(rng: random.Random, participants: list[str], parent_author: str | None) -> str:
    length = min(int(rng.lognormvariate(5.1, 0.75)), 4000)  # characters; median ~165, long tail
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    for _ in range(max(1, len(words) // 14)):  # sentences
        position = rng.randrange(len(words))
        words[position] = words[position] + rng.choice(".,.?!")
    roll = rng.random()
    if roll < 0.05:  # an insult, aimed at someone in the thread or at "you"
        target = rng.choice(participants) if participants and rng.random() < 0.5 else None
        opener = f"{target}, you are a" if target else rng.choice(["you are a", "what a", "such a"])
        words[0:0] = [opener, rng.choice(INSULTS) + "."]
    elif roll < 0.07:
        words.insert(rng.randrange(len(words) + 1), rng.choice(OBSCENE))
    elif roll < 0.075:
        words[0:0] = ["I will hurt you"]
    elif parent_author and roll < 0.25:
        words[0:0] = [f"@{parent_author.split()[0]}"]
    return " ".join(words)


def synthetic_rows(count: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """(id, post_id, author, parent_id, created_at, body) post by post; only one post's thread in memory."""
    rng = random.Random(seed)
    authors = [f"{first} {last}" for first in FIRST for last in LAST] + [f"user{n}" for n in range(2500)]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    produced = post = 0
    while produced < count:
        post += 1
        size = min(count - produced, LARGEST_POST, max(1, int(rng.paretovariate(1.3) * COMMENTS_PER_POST * 0.3)))
        crowd = rng.sample(authors, k=min(len(authors), max(3, int(math.sqrt(size) * 3))))
        when = start + timedelta(minutes=rng.randrange(60 * 24 * 300))
        thread: list[tuple[int, str]] = []  # (id, author) of this post's comments so far
        for _ in range(size):
            produced += 1
            author = rng.choice(crowd)
            parent = None
            if thread and rng.random() < 0.65:  # a reply, mostly to something recent: threads of varied depth
                parent = thread[max(0, len(thread) - 1 - int(rng.expovariate(0.3)))]
            when += timedelta(seconds=int(rng.expovariate(1 / 400)) + 1)
            participants = sorted({a for _, a in thread[-30:] if a != author})
            body = _text(rng, participants, parent[1] if parent else None)
            yield produced, f"post-{post}", author, parent[0] if parent else None, when, body
            thread.append((produced, author))


# ---- one size, in its own process ----------------------------------------------------------------


def run_one(count: int, server: str, batch_size: int, page_size: int, runner: str, n_workers: int) -> dict[str, Any]:
    import psycopg

    admin_dsn = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        for name in (SOURCE_DB, STORE_DB):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')

    started = time.perf_counter()
    source_dsn = server.replace("postgresql+psycopg://", "postgresql://") + f"/{SOURCE_DB}"
    with psycopg.connect(source_dsn) as source:
        source.execute(
            "CREATE TABLE comments (id bigint PRIMARY KEY, post_id text NOT NULL, author text NOT NULL, "
            "parent_id bigint, created_at timestamptz NOT NULL, body text NOT NULL)"
        )
        with source.cursor().copy("COPY comments FROM STDIN") as copy:
            for row in synthetic_rows(count):
                copy.write_row(row)
        source.execute("CREATE INDEX comments_keyset ON comments (created_at, id)")
        source.execute("ANALYZE comments")
        stats = source.execute("SELECT avg(length(body)), max(length(body)) FROM comments").fetchone()
    generated = time.perf_counter() - started

    workdir = Path(tempfile.mkdtemp(prefix="moderation-bench-"))
    os.environ.update(
        PREFECT_HOME=str(workdir / "prefect"),
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
    )
    store_url = f"{server}/{STORE_DB}"
    common = f'[database]\nurl = "{store_url}"\n[scoring]\nbatch_size = {batch_size}\n'
    common += f'[runner]\nkind = "{runner}"\nn_workers = {n_workers}\n'
    warmup = workdir / "warmup.toml"
    warmup.write_text(common)
    config = workdir / "bench.toml"
    config.write_text(
        common + f'[[sources]]\nname = "bench"\nkind = "sql"\nurl = "{server}/{SOURCE_DB}"\ntable = "comments"\n'
        f'page_size = {page_size}\n[sources.columns]\ntext = "body"\n'
    )

    from flows.moderate import moderate
    from moderation.config import load_settings
    from moderation.scoring import load_scorer

    moderate(str(warmup))  # starts the temporary Prefect server, migrates the store: not part of the timing
    started = time.perf_counter()
    summary = moderate(str(config))
    total = time.perf_counter() - started
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    settings = load_settings(config)
    scorer = load_scorer(settings.scoring.scorer, settings.scoring)
    alone = scoring_alone(store_url, settings.scoring.scorer, batch_size)
    return {
        "comments": count,
        "scorer": f"{settings.scoring.scorer} ({scorer.version})",
        "runner": f"{runner} x{n_workers}",
        "batch_size": batch_size,
        "page_size": page_size,
        "text_length_avg_max": [round(float(stats[0]), 1), int(stats[1])] if stats else None,
        "generate_s": round(generated, 2),
        "total_s": round(total, 2),
        "comments_per_s": round(count / total, 1),
        "stages_s": {stage: round(seconds, 2) for stage, seconds in summary.seconds.items()},
        "scoring_alone_s": round(alone, 2),
        "total_over_scoring_alone": round(total / alone, 2),
        "scored": summary.scored,
        "flagged": summary.flagged,
        "peak_rss_mb": round(peak_rss_mb, 1),
    }


def scoring_alone(store_url: str, scorer_name: str, batch_size: int) -> float:
    """The scorer on the stored comments with their threads, batch after batch; only `score` is timed."""
    from moderation.config import ScoringSettings
    from moderation.models import InThread
    from moderation.scoring import load_scorer
    from moderation.storage import store
    from moderation.storage.engine import database

    scorer = load_scorer(scorer_name, ScoringSettings(scorer=scorer_name))
    db = database(store_url)
    unused_version = "bench-scoring-alone"  # nothing is scored under it, so every comment is read
    seconds = 0.0
    for rows in store.unscored_ranges(db, unused_version, batch_size):
        with store.claim_unscored(db, unused_version, rows) as claim:  # left without saving
            batch = [InThread(item.comment, claim.threads[item.row_id]) for item in claim.comments]
            started = time.perf_counter()
            scorer.score(batch)
            seconds += time.perf_counter() - started
    return seconds


# ---- driver ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated comment counts")
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--batch-size", type=int, default=1000, help="scoring.batch_size")
    parser.add_argument("--page-size", type=int, default=2000, help="the SQL source's page_size")
    parser.add_argument("--runner", choices=["thread", "dask"], default="thread")
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = run_one(args.one, args.server, args.batch_size, args.page_size, args.runner, args.n_workers)
        sys.stdout.write("RESULT " + json.dumps(result) + "\n")
        return
    for size in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--one", str(size), *_passed_on(args)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            sys.stderr.write(done.stdout[-5000:] + done.stderr[-5000:])
            raise SystemExit(f"benchmark of {size} comments failed")
        sys.stdout.write(json.dumps(json.loads(lines[-1].removeprefix("RESULT ")), indent=2) + "\n")
        sys.stdout.flush()


def _passed_on(args: argparse.Namespace) -> list[str]:
    return [
        f"--server={args.server}",
        f"--batch-size={args.batch_size}",
        f"--page-size={args.page_size}",
        f"--runner={args.runner}",
        f"--n-workers={args.n_workers}",
    ]


if __name__ == "__main__":
    main()

"""Latency and throughput of `moderation api` over HTTP, against the running service, per scorer.

For each scorer a real `moderation api` process is started (its workers load the scorer before they take
connections), on a temporary SQLite database with one API key and no rate limit. Then, over HTTP with a
keep-alive client:

- single: --single requests of one comment each to POST /v1alpha1/comments:analyze (what Coral's
  Perspective integration sends), one after the other: p50 / p99 / max latency as the client sees it;
- batch: --batches requests of 32 comments each to POST /v1/score, from as many client threads as the
  service has workers: comments per second.

First the floor: the same single requests to a bare FastAPI endpoint under uvicorn that does nothing. Then,
per scorer, the scorer alone, in the benchmark's process, one comment per call (p50): the service's own cost is
the difference. Config: config/moderation.toml (its cascade bands), on a temporary database, no rate limit.

Comments: natural-prevalence dev texts from ../shared/data (every k-th, to mix the families), the same
for every scorer. Numbers depend on the machine and on what else runs on it.

    python benchmarks/bench_api.py [--scorers fast cascade] [--workers 2] [--single 500] [--batches 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from moderation.training.cascade_bands import NATURAL_FAMILIES
from moderation.training.data import dev_texts

ROOT = Path(__file__).resolve().parents[1]
BATCH = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scorers", nargs="+", default=["fast", "cascade"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--single", type=int, default=500, help="single-comment requests per scorer")
    parser.add_argument("--batches", type=int, default=40, help="batch-of-32 requests per scorer")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--output", type=Path, default=ROOT / "reports" / "bench-api.json")
    args = parser.parse_args()
    texts = _sample(dev_texts(args.data, NATURAL_FAMILIES), args.single + args.batches * BATCH)
    results = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "workers": args.workers,
        "load_average_at_start": round(os.getloadavg()[0], 1),
        "scorers": {},
    }
    results["floor"] = _floor(texts[: args.single])
    print(json.dumps({"floor": results["floor"]}), flush=True)
    for scorer in args.scorers:
        with tempfile.TemporaryDirectory() as folder, _service(Path(folder), scorer, args.workers) as (url, key):
            results["scorers"][scorer] = _measure(url, key, texts, args.single, args.batches, args.workers)
        results["scorers"][scorer]["in_process_single_p50_ms"] = _in_process_p50(scorer, texts[: args.single])
        print(json.dumps({scorer: results["scorers"][scorer]}), flush=True)
    results["load_average_at_end"] = round(os.getloadavg()[0], 1)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(_table(results))


def _sample(texts: list[str], count: int) -> list[str]:
    step = max(1, len(texts) // count)
    picked = [text[:3000] for text in texts[::step]][:count]
    if len(picked) < count:
        raise SystemExit(f"only {len(picked)} texts in the dev files, {count} needed")
    return picked


class _service:
    """`moderation api` in a subprocess: started, ready, and stopped with SIGTERM."""

    def __init__(self, folder: Path, scorer: str, workers: int) -> None:
        self.folder, self.scorer, self.workers = folder, scorer, workers
        self.port = _free_port()

    def __enter__(self) -> tuple[str, str]:
        # The shipped config (its scorer settings and cascade bands), on a temporary database, without a limit.
        config = ROOT / "config" / "moderation.toml"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MODERATION_DATABASE_URL": f"sqlite:///{self.folder / 'bench.db'}",
            "MODERATION__API__SCORER": self.scorer,
            "MODERATION__API__PORT": str(self.port),
            "MODERATION__API__WORKERS": str(self.workers),
            "MODERATION__API__RATE_LIMIT": "0",
        }
        command = [sys.executable, "-m", "moderation"]
        created = subprocess.run(
            [*command, "api-key", "create", "bench", "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = created.stdout.strip().splitlines()[-1]
        self.log = (self.folder / "api.log").open("wb")
        self.process = subprocess.Popen(
            [*command, "api", "--config", str(config)], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"moderation api exited: {(self.folder / 'api.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=60).status_code == 200:
                    return url, key
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit("moderation api did not become ready")

    def __exit__(self, *_: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        self.log.close()


def _measure(url: str, key: str, texts: list[str], single: int, batches: int, workers: int) -> dict[str, Any]:
    singles, rest = texts[:single], texts[single:]
    with httpx.Client(base_url=url, params={"key": key}, timeout=120) as client:
        for text in singles[:20]:  # warm every worker's connection and caches
            _analyze(client, text)
        latencies = []
        for text in singles:
            started = time.perf_counter()
            _analyze(client, text)
            latencies.append((time.perf_counter() - started) * 1000)
    chunks = [rest[i : i + BATCH] for i in range(0, batches * BATCH, BATCH)]
    clients = [httpx.Client(base_url=url, params={"key": key}, timeout=300) for _ in range(workers)]
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            scored = sum(pool.map(lambda pair: _score_batch(clients[pair[0] % workers], pair[1]), enumerate(chunks)))
        seconds = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
    ordered = sorted(latencies)
    return {
        "single_requests": len(latencies),
        "single_p50_ms": round(statistics.median(ordered), 1),
        "single_p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "single_max_ms": round(ordered[-1], 1),
        "batch_requests": len(chunks),
        "batch_comments_per_second": round(scored / seconds, 1),
        "batch_mean_ms": round(seconds * 1000 / len(chunks) * workers, 1),
    }


BARE_APP = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()
@app.post("/echo")
def echo(body: dict) -> dict:
    return {"attributeScores": {}}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _floor(texts: list[str]) -> dict[str, float]:
    """The same single requests to a bare FastAPI endpoint under uvicorn that does nothing: what this machine
    and the HTTP stack cost before any scoring, authentication or logging."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.post(f"http://127.0.0.1:{port}/echo", json={}, timeout=10)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        latencies = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for text in texts:
                started = time.perf_counter()
                client.post("/echo", json={"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}})
                latencies.append((time.perf_counter() - started) * 1000)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    ordered = sorted(latencies)
    return {
        "single_p50_ms": round(statistics.median(ordered), 1),
        "single_p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
    }


def _in_process_p50(scorer_name: str, texts: list[str]) -> float:
    """The scorer alone, in this process, one comment per call: what the service adds is the difference."""
    from moderation.config import load_settings
    from moderation.models import Comment, InThread, Thread
    from moderation.scoring.base import load_scorer

    scorer = load_scorer(scorer_name, load_settings(ROOT / "config" / "moderation.toml").scoring)
    items = [
        InThread(comment, Thread.of([comment])) for comment in (Comment(f"s{i}", t, "") for i, t in enumerate(texts))
    ]
    for item in items[:20]:
        scorer.score([item])
    latencies = []
    for item in items:
        started = time.perf_counter()
        scorer.score([item])
        latencies.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(latencies), 1)


def _analyze(client: httpx.Client, text: str) -> None:
    answer = client.post(
        "/v1alpha1/comments:analyze",
        json={
            "comment": {"text": text},
            "languages": ["en"],
            "doNotStore": True,
            "requestedAttributes": {"TOXICITY": {}},
        },
    )
    if answer.status_code not in (200, 400):  # 400: an empty text, answered as Perspective does
        raise SystemExit(f"analyze answered {answer.status_code}: {answer.text}")


def _score_batch(client: httpx.Client, texts: list[str]) -> int:
    comments = [{"id": f"b{i}", "post_id": "bench", "author": f"user{i % 7}", "text": t} for i, t in enumerate(texts)]
    answer = client.post("/v1/score", json={"comments": comments, "store": False})
    if answer.status_code != 200:
        raise SystemExit(f"score answered {answer.status_code}: {answer.text}")
    return len(answer.json()["results"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _table(results: dict[str, Any]) -> str:
    lines = [
        f"machine: {results['machine']}; {results['workers']} workers",
        "| scorer | single p50 | single p99 | single max | batch of 32 | scorer alone, single p50 |",
        "|---|---|---|---|---|---|",
    ]
    floor = results["floor"]
    lines.append(
        f"| (bare FastAPI endpoint, no scoring) | {floor['single_p50_ms']} ms | {floor['single_p99_ms']} ms | | | |"
    )
    for scorer, r in results["scorers"].items():
        lines.append(
            f"| {scorer} | {r['single_p50_ms']} ms | {r['single_p99_ms']} ms | {r['single_max_ms']} ms | "
            f"{r['batch_comments_per_second']} comments/s | {r['in_process_single_p50_ms']} ms |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

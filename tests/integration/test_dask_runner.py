"""Scoring batches spread over a local Dask cluster of two worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.moderate import moderate
from moderation.review.queue import list_items
from moderation.storage.engine import database
from tests.conftest import write_config

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def dask_cluster() -> Iterator[object]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _databases_opened() -> int:
    """How many times this worker process opened the moderation database (0: it scored nothing)."""
    from moderation.storage import engine

    return len(engine._shared)  # the process's shared handles: one per database it opened


def test_batches_are_scored_on_both_dask_workers(dask_cluster: object, tmp_path: Path, postgres_url: str) -> None:
    client = dask_cluster
    sources = f"""
[[sources]]
name = "examples"
kind = "jsonl"
path = "{EXAMPLES / "seed_thread.jsonl"}"
posts = "{EXAMPLES / "seed_post.json"}"
"""
    runner = f'[scoring]\nbatch_size = 1\n[runner]\nkind = "dask"\naddress = "{client.scheduler.address}"\n'  # type: ignore[attr-defined]
    summary = moderate(str(write_config(tmp_path / "c.toml", postgres_url, runner, sources=sources)))
    assert summary.scored == 11
    assert next(iter(list_items(database(postgres_url)))).attack_target == "Slaven"
    opened = client.run(_databases_opened)  # type: ignore[attr-defined]
    assert len(opened) == 2 and all(count >= 1 for count in opened.values())

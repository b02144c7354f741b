"""The task runner that spreads scoring batches, chosen by `[runner]` in the config."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from moderation.config import RunnerSettings


def task_runner_for(settings: RunnerSettings) -> TaskRunner[Any]:
    """Threads in the flow's process, a Dask cluster at `address`, or a local Dask cluster of `n_workers` processes."""
    if settings.kind == "thread":
        return ThreadPoolTaskRunner(max_workers=settings.n_workers)
    from prefect_dask import DaskTaskRunner

    if settings.address:
        return DaskTaskRunner(address=settings.address)
    cluster = {
        "n_workers": settings.n_workers,
        "threads_per_worker": 1,  # scoring is CPU-bound: one process per core
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": None,
    }
    return DaskTaskRunner(cluster_kwargs=cluster)

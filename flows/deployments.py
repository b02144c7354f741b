"""Where the moderate flow runs on a schedule: the one deployment, declared here.

`moderation serve` serves it from the current process (runs start as subprocesses of it);
`prefect.yaml` declares the same deployment for a work pool and `prefect worker start`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, cast

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron, Interval, Schedule

from flows.moderate import moderate
from moderation.config import ScheduleSettings, load_settings
from moderation.errors import ConfigError

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


def schedules(settings: ScheduleSettings) -> list[Schedule]:
    """An interval schedule when `interval_seconds` is set, else one cron schedule per expression."""
    if settings.interval_seconds is not None:
        return [Interval(timedelta(seconds=settings.interval_seconds), timezone=settings.timezone)]
    found = []
    for expression in settings.cron:
        try:
            found.append(Cron(expression, timezone=settings.timezone))
        except ValueError as exc:
            raise ConfigError(f"schedule.cron: {expression!r} is not a cron expression ({exc})") from exc
    return found


def scheduled_deployment(config_path: str | None) -> RunnerDeployment:
    """The `moderate` flow with the schedule of the config; each run reads the config afresh."""
    settings = load_settings(config_path)
    deployment = moderate.to_deployment(
        name=settings.schedule.name,
        schedules=schedules(settings.schedule),
        parameters={"config_path": config_path},
        description="Read new comments from every source, score them with their thread, queue what needs a moderator.",
        tags=["moderation"],
        # A run due while the previous one is still going is cancelled; the next one reads what it would have.
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
    )
    return cast("RunnerDeployment", deployment)  # called from sync code, so not a coroutine


def serve_scheduled(config_path: str | None) -> None:
    """Register the deployment and run its scheduled runs until interrupted.

    The schedule stays active on exit (Prefect would pause it): a restart by systemd or a deploy must not
    silently stop moderation until someone resumes the deployment by hand.
    """
    serve(scheduled_deployment(config_path), pause_on_shutdown=False, print_starting_message=False)

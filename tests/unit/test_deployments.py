from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from flows.deployments import scheduled_deployment, schedules
from flows.runners import task_runner_for
from moderation.config import RunnerSettings, ScheduleSettings
from moderation.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_each_cron_expression_is_a_schedule_in_the_configured_zone() -> None:
    found = schedules(ScheduleSettings(cron=["*/5 * * * *", "0 3 * * *"], timezone="Europe/Berlin"))
    assert [(s.cron, s.timezone) for s in found] == [("*/5 * * * *", "Europe/Berlin"), ("0 3 * * *", "Europe/Berlin")]


def test_an_interval_replaces_the_cron_expressions() -> None:
    (only,) = schedules(ScheduleSettings(interval_seconds=90))
    assert (only.interval, only.cron) == (timedelta(seconds=90), None)


def test_a_bad_cron_expression_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"schedule.cron: '\*/5 \* \*' is not a cron expression"):
        schedules(ScheduleSettings(cron=["*/5 * *"]))


def test_the_deployment_runs_moderate_with_the_config_and_never_overlaps(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[schedule]\nname = "every-minute"\ncron = ["* * * * *"]\n')
    deployment = scheduled_deployment(str(config))
    assert (deployment.flow_name, deployment.name) == ("moderate", "every-minute")
    assert deployment.parameters == {"config_path": str(config)}
    assert [s.schedule.cron for s in deployment.schedules or []] == ["* * * * *"]
    assert deployment.concurrency_limit == 1


def test_prefect_yaml_declares_the_same_deployment_as_the_defaults() -> None:
    (declared,) = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())["deployments"]
    defaults = ScheduleSettings()
    assert declared["entrypoint"] == "flows/moderate.py:moderate"
    assert declared["name"] == defaults.name
    crons = [(s["cron"], s["timezone"]) for s in declared["schedules"]]
    assert crons == [(cron, defaults.timezone) for cron in defaults.cron]
    assert (PROJECT_ROOT / declared["parameters"]["config_path"]).exists()


def test_the_thread_runner_has_n_workers_threads() -> None:
    runner = task_runner_for(RunnerSettings(n_workers=3))
    assert isinstance(runner, ThreadPoolTaskRunner) and runner._max_workers == 3


def test_the_dask_runner_joins_a_cluster_or_starts_a_local_one() -> None:
    remote = task_runner_for(RunnerSettings(kind="dask", address="tcp://10.0.0.5:8786"))
    assert isinstance(remote, DaskTaskRunner) and remote.address == "tcp://10.0.0.5:8786"
    local = task_runner_for(RunnerSettings(kind="dask", n_workers=2))
    assert isinstance(local, DaskTaskRunner) and local.address is None
    assert local.cluster_kwargs["n_workers"] == 2 and local.cluster_kwargs["processes"] is True

import typing
from pathlib import Path

import pytest

from moderation.config import Settings, load_settings
from moderation.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_shipped_config_loads_and_reads_the_example_thread() -> None:
    settings = load_settings(PROJECT_ROOT / "config" / "moderation.toml", environ={})
    assert settings.database.url == "sqlite:///moderation.db"
    assert [s.path for s in settings.sources] == ["examples/seed_thread.jsonl"]


def test_missing_default_file_gives_the_built_in_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}) == Settings()


def test_unknown_key_is_an_error_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[scoring]\nscorrer = 'lexicon'\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={})
    assert str(error.value) == f"{path}: scoring.scorrer: unknown key (got 'lexicon')"


def test_threshold_above_one_is_an_error_naming_the_label(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[policy.thresholds]\ninsult = 1.5\n")
    with pytest.raises(ConfigError, match=r"bad.toml: policy.thresholds.insult: .*less than or equal to 1"):
        load_settings(path, environ={})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[database\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_settings(path, environ={})


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[database]\nurl = 'sqlite:///file.db'\n[policy.thresholds]\ninsult = 0.7\n")
    env = {
        "MODERATION_DATABASE_URL": "sqlite:///env.db",
        "MODERATION_SCORER": "detoxify",
        "MODERATION__POLICY__THRESHOLDS__INSULT": "0.65",
    }
    settings = load_settings(path, environ=env)
    assert settings.database.url == "sqlite:///env.db"
    assert settings.scoring.scorer == "detoxify"
    assert settings.policy.thresholds["insult"] == 0.65


def test_bad_environment_value_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"scoring.batch_size: .*greater than or equal to 1"):
        load_settings(environ={"MODERATION__SCORING__BATCH_SIZE": "0", "MODERATION_CONFIG": str(_empty(tmp_path))})


def test_every_setting_is_documented_in_the_shipped_config() -> None:
    shipped = (PROJECT_ROOT / "config" / "moderation.toml").read_text()
    missing = [name for name in _all_setting_names(Settings) if name not in shipped]
    assert missing == []


def _all_setting_names(model: type) -> list[str]:
    names = []
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        names.append(name)
        for nested in _models_in(field.annotation):
            names.extend(_all_setting_names(nested))
    return names


def _models_in(annotation: object) -> list[type]:
    """Settings models inside an annotation: the model itself, or inside list[...], unions, Annotated."""
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.toml"
    path.write_text("")
    return path

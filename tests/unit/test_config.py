import re
import typing
from pathlib import Path

import pytest

from moderation.config import (
    Settings,
    SqlSourceSettings,
    WordPressSourceSettings,
    load_settings,
    secret_from_env,
)
from moderation.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_shipped_config_loads_and_reads_the_example_thread() -> None:
    settings = load_settings(PROJECT_ROOT / "config" / "moderation.toml", environ={})
    assert settings.database.url == "sqlite:///moderation.db"
    assert [s.path for s in settings.sources] == ["examples/seed_thread.jsonl"]


def test_missing_default_file_gives_the_built_in_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}) == Settings()


def test_the_shipped_config_sets_the_built_in_defaults_apart_from_its_example_source() -> None:
    # Thresholds and cascade bands are chosen for the shipped models; code that builds its settings without
    # the file (tests, embedders) must decide as the shipped config does.
    shipped = load_settings(PROJECT_ROOT / "config" / "moderation.toml", environ={})
    assert shipped.model_copy(update={"sources": []}) == Settings()


def test_unknown_key_is_an_error_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[scoring]\nscorrer = 'lexicon'\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={})
    assert str(error.value) == f"{path}: scoring.scorrer: unknown key"


def test_unknown_section_is_named_without_echoing_its_values(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[databse]\nurl = 'postgresql://mod:hunter2-pw@db.example.org/moderation'\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={})
    assert str(error.value) == f"{path}: databse: unknown key"


def test_invalid_value_under_a_url_key_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[sources]]\nname = 'blog'\nkind = 'wordpress'\nurl = ['https://u:hunter2-pw@blog.example.org']\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={})
    assert "sources.0.wordpress.url" in str(error.value)
    assert "hunter2-pw" not in str(error.value)


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


def test_environment_list_value_is_read_as_json(tmp_path: Path) -> None:
    env = {"MODERATION__POLICY__BLOCKED_WORDS": '["spam", "scam"]', "MODERATION_CONFIG": str(_empty(tmp_path))}
    assert load_settings(environ=env).policy.blocked_words == ["spam", "scam"]


def test_environment_override_of_an_unknown_section_names_the_file_and_key(tmp_path: Path) -> None:
    path = _empty(tmp_path)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: polcy: unknown key$"):
        load_settings(environ={"MODERATION__POLCY__THRESHOLDS__INSULT": "0.5", "MODERATION_CONFIG": str(path)})


def test_environment_override_below_a_plain_value_says_it_is_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^environment override database\.url\.x: url is not a table$"):
        path = tmp_path / "c.toml"
        path.write_text("[database]\nurl = 'sqlite:///file.db'\n")
        load_settings(path, environ={"MODERATION__DATABASE__URL__X": "1"})


def test_every_setting_is_documented_in_the_shipped_config() -> None:
    shipped = (PROJECT_ROOT / "config" / "moderation.toml").read_text()
    missing = [name for name in _all_setting_names(Settings) if name not in shipped]
    assert missing == []


def _all_setting_names(model: type) -> list[str]:
    """Field names of a settings model and of every model inside it (source kinds included)."""
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


def test_every_source_kind_is_documented_in_the_shipped_config() -> None:
    shipped = (PROJECT_ROOT / "config" / "moderation.toml").read_text()
    kinds = [kind for model in _models_in(Settings.model_fields["sources"].annotation) for kind in _kinds(model)]
    assert len(kinds) == 5
    assert [kind for kind in kinds if not re.search(rf"\b{kind}\b", shipped)] == []


def _kinds(model: type) -> tuple[str, ...]:
    return typing.get_args(model.model_fields["kind"].annotation)  # type: ignore[attr-defined]


def test_each_source_kind_has_its_own_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[[sources]]\nname = "forum"\nkind = "sql"\nurl = "sqlite:///forum.db"\ntable = "comments"\n'
        '[sources.columns]\ntext = "body"\nupdated = "edited_at"\n'
        '[[sources]]\nname = "blog"\nkind = "wordpress"\nurl = "https://blog.example.org"\n'
    )
    sql, blog = load_settings(path, environ={}).sources
    assert isinstance(sql, SqlSourceSettings) and (sql.columns.text, sql.columns.updated) == ("body", "edited_at")
    assert isinstance(blog, WordPressSourceSettings) and blog.lookback_seconds == 86400


def test_a_key_of_another_source_kind_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[sources]]\nname = "blog"\nkind = "wordpress"\nurl = "https://b.org"\ntable = "x"\n')
    with pytest.raises(ConfigError, match=r"sources\.0\.wordpress\.table: unknown key"):
        load_settings(path, environ={})


def test_two_sources_with_one_name_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[sources]]\nname = "a"\nkind = "jsonl"\npath = "x"\n' * 2)
    with pytest.raises(ConfigError, match="source names must be unique, repeated: a"):
        load_settings(path, environ={})


def test_unknown_time_zone_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[schedule]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match=r"schedule\.timezone: .*unknown time zone 'Mars/Olympus'"):
        load_settings(path, environ={})


def test_secret_comes_from_the_named_environment_variable() -> None:
    secret = secret_from_env("WP_PASS", "source blog: password_env", {"WP_PASS": "s3cret"})
    assert secret is not None and secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(secret)
    with pytest.raises(ConfigError, match="source blog: password_env: environment variable WP_PASS is not set"):
        secret_from_env("WP_PASS", "source blog: password_env", {})


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.toml"
    path.write_text("")
    return path


def test_a_display_name_in_trusted_authors_is_an_error_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[policy]\ntrusted_authors = ["admin"]\n')
    with pytest.raises(ConfigError, match=r"c.toml: policy.trusted_authors: .*'admin' is not a registered user"):
        load_settings(path, environ={})


def test_the_old_wordpress_status_key_says_what_replaced_it(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[sources]]\nname = "blog"\nkind = "wordpress"\nurl = "https://b.org"\nstatus = "hold"\n')
    with pytest.raises(
        ConfigError, match=r'c.toml: sources.0.wordpress: .*status was replaced by statuses.*\["hold"\]'
    ):
        load_settings(path, environ={})

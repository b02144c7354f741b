"""Which settings apply to a source's comments: [policy] with the source's [sources.policy] over it."""

from pathlib import Path

import pytest

from moderation.config import FileSourceSettings, PolicySettings, SourcePolicySettings, load_settings
from moderation.errors import ConfigError
from moderation.models import Comment, CommentScore
from moderation.policy import decide
from moderation.policy.per_source import effective_policy, policies_by_source, policy_for

GLOBAL = PolicySettings(thresholds={"insult": 0.5, "threat": 0.2}, trusted_authors=["blog:1"], blocked_words=["spam"])


def test_a_sources_thresholds_replace_only_the_labels_it_names() -> None:
    own = effective_policy(GLOBAL, SourcePolicySettings(thresholds={"insult": 0.9}))
    assert own.thresholds == {"insult": 0.9, "threat": 0.2}
    assert GLOBAL.thresholds == {"insult": 0.5, "threat": 0.2}  # the global settings are untouched


def test_a_sources_lists_add_to_the_global_ones() -> None:
    own = effective_policy(GLOBAL, SourcePolicySettings(trusted_authors=["forum:3"], blocked_words=["spam", "pills"]))
    assert own.trusted_authors == ["blog:1", "forum:3"]
    assert own.blocked_words == ["spam", "pills"]


def test_a_source_without_its_own_policy_gets_the_global_one() -> None:
    sources = [
        FileSourceSettings(name="blog", kind="jsonl", path="b.jsonl"),
        FileSourceSettings(name="forum", kind="jsonl", path="f.jsonl", policy=SourcePolicySettings()),
    ]
    by_source = policies_by_source(GLOBAL, sources)
    assert policy_for("blog", GLOBAL, by_source) is GLOBAL
    assert policy_for("forum", GLOBAL, by_source) == GLOBAL


def test_the_same_comment_is_decided_by_its_sources_settings() -> None:
    comment, score = Comment(id="1", text="you fool", author="ann"), CommentScore({"insult": 0.7})
    lenient = effective_policy(GLOBAL, SourcePolicySettings(thresholds={"insult": 0.8}))
    assert decide(comment, score, GLOBAL, "blog").flagged
    assert not decide(comment, score, lenient, "forum").flagged


def test_a_trusted_author_of_another_source_is_an_error_naming_the_source(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[[sources]]\nname = "forum"\nkind = "jsonl"\npath = "x.jsonl"\n'
        '[sources.policy]\ntrusted_authors = ["blog:1"]\n'
    )
    with pytest.raises(ConfigError, match=r"c.toml: sources.0.jsonl: .*'blog:1' is not a user of source 'forum'"):
        load_settings(path, environ={})


def test_a_sources_reason_codes_replace_the_global_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[sources]]\nname = "forum"\nkind = "jsonl"\npath = "x.jsonl"\nreason_codes = ["abuse"]\n')
    settings = load_settings(path, environ={})
    assert settings.reason_codes_for("forum") == ["abuse"]
    assert settings.reason_codes_for("blog") == settings.review.reason_codes
    assert settings.reason_codes_by_source() == {"forum": ["abuse"]}


def test_a_sources_threshold_for_a_label_the_scorer_lacks_is_warned_about() -> None:
    from moderation.config import Settings
    from moderation.policy.unused_labels import unused_label_settings

    settings = Settings.model_validate(
        {
            "policy": {"thresholds": {}, "severity": {}, "urgent_labels": []},
            "sources": [{"name": "forum", "kind": "jsonl", "path": "x", "policy": {"thresholds": {"threat": 0.5}}}],
        }
    )
    assert unused_label_settings(settings, "lexicon", ("insult",), "c.toml") == [
        'c.toml: sources.forum.policy.thresholds.threat: scorer "lexicon" never produces "threat"; '
        "this threshold does nothing"
    ]


def test_score_with_a_source_decides_with_that_sources_settings(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from moderation.cli import cli
    from tests.conftest import EXAMPLES

    config = tmp_path / "c.toml"
    lenient = ", ".join(f"{label} = 1.0" for label in PolicySettings().thresholds)
    config.write_text(
        '[[sources]]\nname = "forum"\nkind = "jsonl"\npath = "x.jsonl"\n'
        f"[sources.policy]\nthresholds = {{ {lenient} }}\n"
    )

    def flagged(*more: str) -> set[str]:
        out = tmp_path / "out.jsonl"
        args = ["score", "--config", str(config), "--input", str(EXAMPLES / "seed_thread.jsonl"), "--output", str(out)]
        result = CliRunner().invoke(cli, [*args, "--scorer", "lexicon", *more])
        assert result.exit_code == 0, result.output
        return {r["id"] for r in map(json.loads, out.read_text().splitlines()) if r["flagged"]}

    assert "c6" in flagged()
    assert flagged("--source", "forum") == set()
    unknown = CliRunner().invoke(
        cli, ["score", "--config", str(config), "--input", str(EXAMPLES / "seed_thread.jsonl"), "--source", "blog"]
    )
    assert unknown.exit_code == 1
    assert "Error: --source blog: no such source in the config (sources: forum)" in unknown.output

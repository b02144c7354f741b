"""The run summary links to the review UI's stats page."""

from __future__ import annotations

from moderation.pipeline import RunSummary
from moderation.run_report import summary_markdown


def test_run_summary_links_to_the_stats_page_of_the_review_ui() -> None:
    markdown = summary_markdown(RunSummary(), "https://moderation.example.org/")
    assert "[stats page](https://moderation.example.org/stats)" in markdown


def test_run_summary_without_an_address_has_no_link() -> None:
    assert "stats page" not in summary_markdown(RunSummary())

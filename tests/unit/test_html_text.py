from moderation.sources.wordpress import html_to_text


def test_paragraphs_become_blank_lines_and_breaks_newlines() -> None:
    assert html_to_text("<p>One<br />\ntwo</p>\n<p>Three</p>\n") == "One\ntwo\n\nThree"


def test_entities_are_decoded_and_tags_dropped() -> None:
    rendered = "<p>You&#8217;re a <a href='x'>clown</a> &amp; a &lt;troll&gt;</p>"
    assert html_to_text(rendered) == "You’re a clown & a <troll>"


def test_markup_in_the_text_is_not_run_or_kept() -> None:
    assert html_to_text("<p>hi<script>alert(1)</script><img src=x onerror=y></p>") == "hialert(1)"


def test_whitespace_runs_collapse_as_a_browser_shows_them() -> None:
    assert html_to_text("<p>  lots   of\n   space  </p>") == "lots of space"

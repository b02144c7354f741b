from moderation.sources.wordpress import html_to_text


def test_paragraphs_become_blank_lines_and_breaks_newlines() -> None:
    assert html_to_text("<p>One<br />\ntwo</p>\n<p>Three</p>\n") == "One\ntwo\n\nThree"


def test_entities_are_decoded_and_tags_dropped() -> None:
    rendered = "<p>You&#8217;re a <b>clown</b> &amp; a &lt;troll&gt;</p>"
    assert html_to_text(rendered) == "You’re a clown & a <troll>"


def test_markup_in_the_text_is_not_run_or_kept() -> None:
    assert html_to_text("<p>hi<img src=x onerror=y></p>") == "hi"


def test_script_and_style_content_is_dropped() -> None:
    rendered = "<p>hi <script>alert('you idiot')</script><style>p { color: red }</style>there</p>"
    assert html_to_text(rendered) == "hi there"


def test_a_link_keeps_its_target_after_its_text() -> None:
    rendered = '<p>cheap <a href="https://spam.example/pills" rel="nofollow ugc">pills</a> here</p>'
    assert html_to_text(rendered) == "cheap pills (https://spam.example/pills) here"


def test_a_link_whose_text_is_its_target_is_not_repeated() -> None:
    rendered = '<p>see <a href="https://example.org/a/" rel="nofollow ugc">https://example.org/a</a></p>'
    assert html_to_text(rendered) == "see https://example.org/a"


def test_a_link_without_a_target_is_just_its_text() -> None:
    assert html_to_text("<p><a name='top'>top</a> of the page</p>") == "top of the page"


def test_whitespace_runs_collapse_as_a_browser_shows_them() -> None:
    assert html_to_text("<p>  lots   of\n   space  </p>") == "lots of space"

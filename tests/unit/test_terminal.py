"""What the CLI lets through to a terminal: text, tabs and newlines; never a control sequence."""

from __future__ import annotations

import pytest

from moderation.cli.terminal import for_terminal, visible_name


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("a\x1b[2J\x1b[Hb", "ab"),  # clear the screen, cursor home
        ("a\x1b[38;5;196mred\x1b[0m", "ared"),  # colours
        ("a\x1b]0;pwned\x07b", "ab"),  # window title, BEL-terminated
        ("a\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),  # hyperlink, ST-terminated
        ("a\x1b]52;c;Y3VybA==\x07b", "ab"),  # clipboard write
        ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),  # DCS (sixel)
        ("a\x9b2Jb\x9d0;t\x9cc", "abc"),  # 8-bit CSI and OSC
        ("a\rb\x00c\x08d\x7fe\x85f", "abcdef"),  # carriage return, NUL, backspace, DEL, C1
        ("a\x1bb", "a"),  # a lone escape takes the next character with it (ESC b is a sequence)
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("Ünïcödé 😀 עברית", "Ünïcödé 😀 עברית"),
    ],
)
def test_control_sequences_are_removed_and_text_stays(hostile: str, shown: str) -> None:
    assert for_terminal(hostile) == shown


def test_bidi_override_in_text_is_shown_not_obeyed() -> None:
    assert for_terminal("x \u202eevil\u202c y") == "x <U+202E>evil<U+202C> y"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("\u202egrebdniL eeL", "<U+202E>grebdniL eeL"),
        ("Lee\u200bLindberg", "Lee<U+200B>Lindberg"),
        ("\u2066Lee\u2069", "<U+2066>Lee<U+2069>"),
        ("Lee\u3164", "Lee<U+3164>"),
        ("Lee \x1b[8mLindberg", "Lee Lindberg"),
        ("Zoë", "Zoë"),
    ],
)
def test_names_show_their_invisible_and_direction_characters(name: str, shown: str) -> None:
    assert visible_name(name) == shown

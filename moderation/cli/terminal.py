"""What reaches the terminal. Comment texts and names are hostile: an escape sequence in one could clear
the screen, fake output, set the window title or write the clipboard, so every line the CLI prints for
people goes through `echo`, and names show their invisible characters. JSON output is escaped by json."""

from __future__ import annotations

import re
import unicodedata

import click

_ESCAPE_SEQUENCE = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]?              # CSI: cursor moves, erase (ESC[2J), colours
    | \x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?   # OSC: window title (0), hyperlink (8), clipboard (52)
    | \x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?    # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]?                      # any other escape
    | \x9b[0-?]*[ -/]*[@-~]?                # 8-bit CSI
    | [\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?  # 8-bit OSC, DCS, SOS, PM, APC strings
    """,
    re.VERBOSE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 controls but tab and newline (a carriage return could overwrite a line), DEL, C1 controls."""

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Embeddings, overrides and isolates: they reorder what follows them on the line."""
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters and symbols that print as nothing (Hangul fillers, the blank Braille pattern)."""


def for_terminal(text: str) -> str:
    """`text` without control sequences or controls (tabs and newlines stay), bidi overrides shown as <U+202E>."""
    cleaned = _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))
    return "".join(_visible(char) if char in _BIDI_CONTROLS else char for char in cleaned)


def visible_name(name: str | None) -> str:
    """A person's name as it must look: every invisible or direction-changing character shown as <U+XXXX>,
    so "\u202egrebdniL eeL" cannot pass for Lee Lindberg and a zero-width space cannot make a look-alike."""
    if name is None:
        return ""
    return "".join(_visible(char) if _invisible(char) else char for char in for_terminal(name))


def echo(message: str = "", *, err: bool = False) -> None:
    """click.echo for people: the message cannot drive the terminal."""
    click.echo(for_terminal(message), err=err)


def _invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or char in _BLANK_LOOKING or char in _BIDI_CONTROLS


def _visible(char: str) -> str:
    return f"<U+{ord(char):04X}>"

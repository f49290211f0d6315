"""Text helpers that behave like Rust's `core`: `{:?}` quoting, `char::is_whitespace`, `str::trim`.

The character classes come from `_unicode`, which scripts/build-polyglot.sh
generates from the Rust toolchain itself (scripts/polyglot/rust_chars.rs), so
the Unicode tables are those of the Rust plugin's compiler.
"""

from bisect import bisect_right
from typing import Callable

from . import _unicode

_BACKSLASH = {"\0": "\\0", "\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\"}


Ranges = tuple[tuple[int, int], ...]


def _in(ranges: Ranges, starts: tuple[int, ...], c: str) -> bool:
    i = bisect_right(starts, ord(c)) - 1
    return i >= 0 and ord(c) <= ranges[i][1]


def _class(ranges: Ranges) -> Callable[[str], bool]:
    """A membership test for `ranges`, with the ASCII answers precomputed."""
    starts = tuple(a for a, _ in ranges)
    ascii_members = frozenset(chr(c) for c in range(128) if _in(ranges, starts, chr(c)))
    return lambda c: c in ascii_members if c < "\x80" else _in(ranges, starts, c)


_is_escaped = _class(_unicode.ESCAPE)
_is_whitespace = _class(_unicode.WHITESPACE)
_is_control = _class(_unicode.CONTROL)


def is_whitespace(c: str) -> bool:
    """Rust's `char::is_whitespace` (Unicode White_Space)."""
    return _is_whitespace(c)


def is_control(c: str) -> bool:
    """Rust's `char::is_control` (general category Cc)."""
    return _is_control(c)


def trim(s: str) -> str:
    """Rust's `str::trim`: strips White_Space at both ends."""
    start, end = 0, len(s)
    while start < end and is_whitespace(s[start]):
        start += 1
    while end > start and is_whitespace(s[end - 1]):
        end -= 1
    return s[start:end]


def _escaped(c: str, quote: str) -> str:
    if c in _BACKSLASH:
        return _BACKSLASH[c]
    if c == quote:
        return "\\" + c
    if c in "\"'":
        return c
    if _is_escaped(c):
        return f"\\u{{{ord(c):x}}}"
    return c


def debug_str(s: str) -> str:
    """`format!("{:?}", s)` for a `&str`: `"Ethernet1"`, `"a\\u{301}"`."""
    return '"' + "".join(_escaped(c, '"') for c in s) + '"'


def debug_char(c: str) -> str:
    """`format!("{:?}", c)` for a `char`: `'\\n'`, `'\\u{7f}'`."""
    return "'" + _escaped(c, "'") + "'"


def is_ascii_digit(c: str) -> bool:
    """Rust's `u8::is_ascii_digit` for one character."""
    return "0" <= c <= "9"


def is_ascii_alpha(c: str) -> bool:
    """Rust's `is_ascii_alphabetic` for one character."""
    return "a" <= c <= "z" or "A" <= c <= "Z"

"""Port names: expanding ranges such as `Ethernet1-4` and sorting in natural order.

A port of plugins/sdk/src/ports.rs: same syntax, same order, same messages.
"""

from functools import cmp_to_key
from typing import Any

from .rust_text import debug_str, is_ascii_alpha, is_ascii_digit, is_whitespace, trim

MAX_RANGE_LEN = 4096
"""The most ports one range may expand to; guards against `Ethernet1-999999999`."""

_U64_MAX = 2**64 - 1


class PortError(Exception):
    """Why a port list could not be expanded; displays as Rust's `PortError`."""

    def __init__(self, item: str, reason: str) -> None:
        super().__init__(item, reason)
        self.item = item
        self.reason = reason

    def __str__(self) -> str:
        return f"invalid port {debug_str(self.item)}: {self.reason}"


def _all_digits(s: str) -> bool:
    return all(is_ascii_digit(c) for c in s)


def _is_dashed_name(item: str) -> bool:
    """A name with a dash that is not a range (`ge-0/0/1`): letters only before the first dash."""
    kind = item.partition("-")[0]
    return kind != "" and all(is_ascii_alpha(c) for c in kind)


def _parse_u64(item: str, digits: str) -> int:
    significant = digits.lstrip("0")
    if len(significant) > 20 or int(significant or "0") > _U64_MAX:
        raise PortError(item, "port number is too large")
    return int(significant or "0")


def expand_item(item: str) -> list[str]:
    """Expands one port name, or a range over its last number (`Ethernet1/1-4`).

    Raises `PortError` as `expand_item` in Rust does.
    """
    t = trim(item)
    if not t:
        raise PortError(item, "empty port name")
    if any(is_whitespace(c) or c == "," for c in t):
        raise PortError(item, "a port name cannot contain spaces or commas")
    end: str | None = None
    head = t
    if "-" in t:
        before, _, after = t.rpartition("-")
        if after and _all_digits(after):
            head, end = before, after
        elif not _is_dashed_name(t):
            raise PortError(item, "a range must end in a number, e.g. Ethernet1-4 or Ethernet1/1-4")
    digits = len(head) - len(head.rstrip("0123456789"))
    if digits == 0:
        raise PortError(item, "a port name must end in a number, e.g. Ethernet1 or Ethernet1/1")
    prefix, start = head[: len(head) - digits], head[len(head) - digits :]
    if not prefix or not is_ascii_alpha(prefix[0]):
        raise PortError(item, "a port name must start with a letter, e.g. Ethernet1")
    if end is None:
        return [t]
    if "-" in prefix:
        raise PortError(
            item,
            "only the last number of a port may be a range, and a name that contains '-' "
            "(e.g. ge-0/0/1) cannot be a range: list its ports one by one",
        )
    first, last = _parse_u64(item, start), _parse_u64(item, end)
    if last < first:
        raise PortError(item, f"range is reversed ({first} > {last}); write the lower bound first")
    if last - first >= MAX_RANGE_LEN:
        raise PortError(item, f"range spans more than {MAX_RANGE_LEN} ports")
    return [f"{prefix}{n}" for n in range(first, last + 1)]


def expand_list(text: str) -> list[str]:
    """Expands `Ethernet1-4,Ethernet7` into port names, sorted naturally, without duplicates."""
    ports: list[str] = []
    for part in text.split(","):
        ports.extend(expand_item(part))
    return sort_natural(ports)


def sort_natural(names: list[str]) -> list[str]:
    """Sorts in natural order (stable) and drops adjacent duplicates, as Rust's `sort_natural`."""
    out: list[str] = []
    for name in sorted(names, key=natural_key):
        if not out or out[-1] != name:
            out.append(name)
    return out


def _digit_run(s: bytes, i: int) -> int:
    j = i
    while j < len(s) and 0x30 <= s[j] <= 0x39:
        j += 1
    return j


def natural_cmp_bytes(x: bytes, y: bytes) -> int:
    """Compares UTF-8 names in natural order (Rust's `natural_cmp`): digit runs compare as numbers."""
    i = j = 0
    while True:
        if i == len(x) or j == len(y):
            return (i < len(x)) - (j < len(y))
        cx, cy = x[i], y[j]
        if 0x30 <= cx <= 0x39 and 0x30 <= cy <= 0x39:
            ei, ej = _digit_run(x, i), _digit_run(y, j)
            # Leading zeros do not count, but a run keeps at least one digit.
            while i < ei - 1 and x[i] == 0x30:
                i += 1
            while j < ej - 1 and y[j] == 0x30:
                j += 1
            na, nb = x[i:ei], y[j:ej]
            if len(na) != len(nb):
                return -1 if len(na) < len(nb) else 1
            if na != nb:
                return -1 if na < nb else 1
            i, j = ei, ej
        elif cx != cy:
            return -1 if cx < cy else 1
        else:
            i, j = i + 1, j + 1


def natural_cmp(a: str, b: str) -> int:
    """Compares names in natural order on their UTF-8 bytes."""
    return natural_cmp_bytes(a.encode("utf-8"), b.encode("utf-8"))


_BYTES_KEY = cmp_to_key(natural_cmp_bytes)


def natural_key(name: str) -> Any:
    """A sort key for natural order (the name is encoded once, not at every comparison)."""
    return _BYTES_KEY(name.encode("utf-8"))

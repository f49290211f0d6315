"""VLAN lists such as `[100, "102-105"]`: parsing, merging and canonical forms.

A port of plugins/access-ports/src/vlans.rs.
"""

from typing import Optional, Union

from .fields import Violations, describe
from .jsonvalue import JsonValue, is_u64
from .rust_text import is_ascii_digit, trim

VLAN_MIN = 1
VLAN_MAX = 4094

Ranges = list[tuple[int, int]]
"""Inclusive VLAN ranges."""


def _parse_id(text: str) -> Optional[int]:
    text = trim(text)
    if not text or not all(is_ascii_digit(c) for c in text):
        return None
    significant = text.lstrip("0")
    if len(significant) > 5:  # beyond u16: Rust's parse fails
        return None
    value = int(significant or "0")
    return value if VLAN_MIN <= value <= VLAN_MAX else None


def _parse_text(text: str) -> Optional[Ranges]:
    out: Ranges = []
    for part in text.split(","):
        if "-" in part:
            a_text, _, b_text = part.partition("-")
            a, b = _parse_id(a_text), _parse_id(b_text)
            if a is None or b is None or a > b:
                return None
            out.append((a, b))
        else:
            v = _parse_id(part)
            if v is None:
                return None
            out.append((v, v))
    return out


def parse_list(field: str, items: list[JsonValue], errs: Violations) -> Optional[Ranges]:
    """Parses VLAN ids and ranges found at `field`; a violation on `field[i]` per bad item."""
    if not items:
        errs.push(field, f'{field} must list at least one VLAN, e.g. [100, "200-210"]')
        return None
    ranges: Ranges = []
    ok = True
    for i, item in enumerate(items):
        parsed: Optional[Ranges] = None
        if isinstance(item, int) and is_u64(item) and VLAN_MIN <= item <= VLAN_MAX:
            parsed = [(item, item)]
        elif isinstance(item, str):
            parsed = _parse_text(item)
        if parsed is None:
            ok = False
            errs.push(
                f"{field}[{i}]",
                f"{field}[{i}] must be a VLAN id from {VLAN_MIN} to {VLAN_MAX} or a range "
                f'such as "100-110" (lower bound first), got {describe(item)}',
            )
        else:
            ranges.extend(parsed)
    return merge(ranges) if ok else None


def merge(ranges: Ranges) -> Ranges:
    """Sorts ranges and merges overlapping or adjacent ones."""
    out: Ranges = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def to_json(ranges: Ranges) -> list[Union[int, str]]:
    """The canonical JSON list: single VLANs as numbers, runs as `"a-b"` strings."""
    return [a if a == b else f"{a}-{b}" for a, b in ranges]


def to_cli(ranges: Ranges) -> str:
    """The CLI form used by EOS: `100-105,120`."""
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)

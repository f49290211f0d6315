"""Reading a service's JSON `spec` field by field, collecting every violation with its path.

A port of plugins/sdk/src/spec.rs: same checks, same messages, same order.
"""

from typing import Optional

from . import jsonvalue
from .jsonvalue import JsonValue
from .rust_text import debug_char, debug_str, is_control, trim

Violation = tuple[str, str]
"""`(field, message)`."""


class Violations:
    """Violations collected while a service is checked."""

    def __init__(self) -> None:
        self.items: list[Violation] = []

    def push(self, field: str, message: str) -> None:
        """Records a violation on `field`."""
        self.items.append((field, message))

    def is_empty(self) -> bool:
        """Whether nothing was recorded."""
        return not self.items


class Invalid(Exception):
    """The service is refused; `violations` says why."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(violations)
        self.violations = violations


def parse_spec(spec: str) -> dict[str, JsonValue]:
    """Parses a service's `spec` (JSON text), which must be an object. Raises `Invalid`."""
    try:
        value = jsonvalue.parse(spec)
    except jsonvalue.JsonError as e:
        raise Invalid([("spec", f"spec is not valid JSON: {e}")]) from None
    if not isinstance(value, dict):
        raise Invalid([("spec", f"spec must be an object, got {describe(value)}")])
    return value


def describe(value: JsonValue) -> str:
    """Describes a JSON value for a message: its type and, if short, the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        kind, text = "the string", jsonvalue.string_text(value)
    else:
        kind, text = "the number", jsonvalue.number_text(value)
    if len(text) > 40:
        return f"{kind} {text[:40]}..."
    return f"{kind} {text}"


def check_line(field: str, text: str, max_chars: int, errs: Violations) -> bool:
    """Checks a free-text field: at most `max_chars` characters, no control characters."""
    if len(text) > max_chars:
        errs.push(field, f"{field} is {len(text)} characters long; shorten it to at most {max_chars}")
        return False
    for c in text:
        if is_control(c):
            errs.push(
                field,
                f"{field} must be one line of printable text; remove the character {debug_char(c)}",
            )
            return False
    return True


class Fields:
    """A JSON object being read, with the path used to name its fields."""

    def __init__(self, obj: dict[str, JsonValue], path: str) -> None:
        self.obj = obj
        self.path = path

    def field(self, key: str) -> str:
        """The path of field `key`, e.g. `spec.vlan`."""
        return f"{self.path}.{key}"

    def reject_unknown(self, allowed: tuple[str, ...], errs: Violations) -> None:
        """Records a violation for every key not in `allowed` (keys in sorted order, as Rust)."""
        for key in sorted(self.obj):
            if key not in allowed:
                errs.push(
                    self.field(key),
                    f"unknown field {debug_str(key)} in {self.path}; "
                    f"the allowed fields are: {', '.join(allowed)}",
                )

    def get(self, key: str) -> JsonValue:
        """The value of `key`; `null` counts as absent (`None`)."""
        return self.obj.get(key)

    def _missing(self, key: str, what: str, errs: Violations) -> None:
        errs.push(self.field(key), f"{self.field(key)} is required: set it to {what}")

    def _wrong(self, key: str, what: str, got: JsonValue, errs: Violations) -> None:
        errs.push(self.field(key), f"{self.field(key)} must be {what}, got {describe(got)}")

    def string(self, key: str, errs: Violations) -> Optional[str]:
        """An optional string field."""
        value = self.get(key)
        if value is None or isinstance(value, str):
            return value
        self._wrong(key, "a string", value, errs)
        return None

    def required_string(self, key: str, what: str, errs: Violations) -> Optional[str]:
        """A required, non-empty string field; `what` says what it should be."""
        value = self.get(key)
        if value is None or (isinstance(value, str) and trim(value) == ""):
            self._missing(key, what, errs)
            return None
        if isinstance(value, str):
            return value
        self._wrong(key, what, value, errs)
        return None

    def integer(self, key: str, lo: int, hi: int, errs: Violations) -> Optional[int]:
        """An optional integer field in `lo..=hi`."""
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, int) and jsonvalue.is_u64(value) and lo <= value <= hi:
            return value
        self._wrong(key, f"a whole number from {lo} to {hi}", value, errs)
        return None

    def required_integer(self, key: str, lo: int, hi: int, errs: Violations) -> Optional[int]:
        """A required integer field in `lo..=hi`."""
        if self.get(key) is None:
            self._missing(key, f"a whole number from {lo} to {hi}", errs)
            return None
        return self.integer(key, lo, hi, errs)

    def boolean(self, key: str, errs: Violations) -> Optional[bool]:
        """An optional boolean field."""
        value = self.get(key)
        if value is None or isinstance(value, bool):
            return value
        self._wrong(key, "true or false", value, errs)
        return None

    def choice(self, key: str, choices: tuple[str, ...], errs: Violations) -> Optional[str]:
        """An optional string field that must be one of `choices`."""
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value in choices:
            return value
        self._wrong(key, f"one of {', '.join(choices)}", value, errs)
        return None

    def array(self, key: str, errs: Violations) -> Optional[list[JsonValue]]:
        """An optional list field."""
        value = self.get(key)
        if value is None or isinstance(value, list):
            return value
        self._wrong(key, "a list", value, errs)
        return None

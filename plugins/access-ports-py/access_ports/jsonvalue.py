"""JSON exactly as the Rust plugin's serde_json 1.0 reads and writes it.

`parse` accepts and refuses the same texts as `serde_json::from_str::<Value>`
(without the `float_roundtrip` feature), with the same error messages and
positions, and gives values that behave like serde_json's `Value`:

* `None`, `bool`, `str`, `list`, `dict` (keys are iterated sorted, as in
  serde_json's `BTreeMap`; a repeated key keeps its last value);
* `int` for serde's `u64` (0..=2**64-1) and `i64` (negative) numbers;
* `float` for serde's `f64`, computed the way serde computes it (so `1.0`,
  `1e2`, `-0` and integers beyond 64 bits are floats, as in Rust).

`number_text` and `string_text` write numbers and strings as serde_json does.
"""

import re
from typing import Optional, Union

JsonValue = Union[None, bool, int, float, str, list["JsonValue"], dict[str, "JsonValue"]]

U64_MAX = 2**64 - 1
_I32_MAX = 2**31 - 1
_I32_MIN = -(2**31)
_POW10 = tuple(float(f"1e{i}") for i in range(309))
_STRING_STOP = re.compile(rb'["\\\x00-\x1f]')
"""The bytes that end a run of plain string content: a quote, a backslash, a control."""


class JsonError(Exception):
    """A syntax error, displayed like serde_json's: `{what} at line {l} column {c}`."""


class _Parser:
    """serde_json's `Deserializer<StrRead>` reading one `Value`."""

    def __init__(self, text: str) -> None:
        self.s = text.encode("utf-8")
        self.i = 0
        self.depth = 128

    def peek(self) -> Optional[int]:
        return self.s[self.i] if self.i < len(self.s) else None

    def peek0(self) -> int:
        return self.s[self.i] if self.i < len(self.s) else 0

    def next(self) -> Optional[int]:
        b = self.peek()
        if b is not None:
            self.i += 1
        return b

    def _at(self, index: int, what: str) -> JsonError:
        start = self.s.rfind(b"\n", 0, index) + 1
        line = 1 + self.s.count(b"\n", 0, start)
        return JsonError(f"{what} at line {line} column {index - start}")

    def error(self, what: str) -> JsonError:
        return self._at(self.i, what)

    def peek_error(self, what: str) -> JsonError:
        return self._at(min(len(self.s), self.i + 1), what)

    def ws(self) -> Optional[int]:
        while self.i < len(self.s) and self.s[self.i] in b" \n\t\r":
            self.i += 1
        return self.peek()

    def value(self) -> JsonValue:
        b = self.ws()
        if b is None:
            raise self.peek_error("EOF while parsing a value")
        if b in b"ntf":
            self.i += 1
            word = {0x6E: (b"ull", None), 0x74: (b"rue", True), 0x66: (b"alse", False)}[b]
            self.ident(word[0])
            return word[1]
        if b == 0x2D:
            self.i += 1
            return self.integer(False)
        if 0x30 <= b <= 0x39:
            return self.integer(True)
        if b == 0x22:
            self.i += 1
            return self.string()
        if b in b"[{":
            self.depth -= 1
            if self.depth == 0:
                raise self.peek_error("recursion limit exceeded")
            self.i += 1
            out = self.seq() if b == 0x5B else self.obj()
            self.depth += 1
            self.i += 1  # the closing bracket, already seen
            return out
        raise self.peek_error("expected value")

    def ident(self, rest: bytes) -> None:
        for expected in rest:
            got = self.next()
            if got is None:
                raise self.error("EOF while parsing a value")
            if got != expected:
                raise self.error("expected ident")

    def seq(self) -> list[JsonValue]:
        out: list[JsonValue] = []
        while True:
            b = self.ws()
            if b is None:
                raise self.peek_error("EOF while parsing a list")
            if b == 0x5D:
                return out
            if out:
                if b != 0x2C:
                    raise self.peek_error("expected `,` or `]`")
                self.i += 1
                b = self.ws()
                if b == 0x5D:
                    raise self.peek_error("trailing comma")
                if b is None:
                    raise self.peek_error("EOF while parsing a value")
            out.append(self.value())

    def obj(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {}
        first = True
        while True:
            b = self.ws()
            if b is None:
                raise self.peek_error("EOF while parsing an object")
            if b == 0x7D:
                return out
            if not first:
                if b != 0x2C:
                    raise self.peek_error("expected `,` or `}`")
                self.i += 1
                b = self.ws()
                if b == 0x7D:
                    raise self.peek_error("trailing comma")
                if b is None:
                    raise self.peek_error("EOF while parsing a value")
            if b != 0x22:
                raise self.peek_error("key must be a string")
            first = False
            self.i += 1
            key = self.string()
            b = self.ws()
            if b != 0x3A:
                what = "EOF while parsing an object" if b is None else "expected `:`"
                raise self.peek_error(what)
            self.i += 1
            out.pop(key, None)
            out[key] = self.value()

    def string(self) -> str:
        buf = bytearray()
        while True:
            start = self.i
            stop = _STRING_STOP.search(self.s, start)
            self.i = stop.start() if stop else len(self.s)
            buf += self.s[start : self.i]
            b = self.peek()
            if b is None:
                raise self.error("EOF while parsing a string")
            self.i += 1
            if b == 0x22:
                return buf.decode("utf-8")
            if b != 0x5C:
                raise self.error("control character (\\u0000-\\u001F) found while parsing a string")
            self.escape(buf)

    def escape(self, buf: bytearray) -> None:
        c = self.next()
        if c is None:
            raise self.error("EOF while parsing a string")
        simple = {0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 8, 0x66: 12, 0x6E: 10, 0x72: 13, 0x74: 9}
        if c in simple:
            buf.append(simple[c])
            return
        if c != 0x75:
            raise self.error("invalid escape")
        n = self.hex4()
        if 0xDC00 <= n <= 0xDFFF:
            raise self.error("lone leading surrogate in hex escape")
        if 0xD800 <= n <= 0xDBFF:
            for expected in b"\\u":
                got = self.peek()
                if got is None:
                    raise self.error("EOF while parsing a string")
                self.i += 1
                if got != expected:
                    raise self.error("unexpected end of hex escape")
            n2 = self.hex4()
            if not 0xDC00 <= n2 <= 0xDFFF:
                raise self.error("lone leading surrogate in hex escape")
            n = (((n - 0xD800) << 10) | (n2 - 0xDC00)) + 0x10000
        buf += chr(n).encode("utf-8")

    def hex4(self) -> int:
        if self.i + 4 > len(self.s):
            self.i = len(self.s)
            raise self.error("EOF while parsing a string")
        digits = self.s[self.i : self.i + 4]
        self.i += 4
        if any(d not in b"0123456789abcdefABCDEF" for d in digits):
            raise self.error("invalid escape")
        return int(digits, 16)

    def integer(self, positive: bool) -> JsonValue:
        c = self.next()
        if c is None:
            raise self.error("EOF while parsing a value")
        if c == 0x30:
            if 0x30 <= self.peek0() <= 0x39:
                raise self.peek_error("invalid number")
            return self.number(positive, 0)
        if not 0x31 <= c <= 0x39:
            raise self.error("invalid number")
        sig = c - 0x30
        while 0x30 <= self.peek0() <= 0x39:
            digit = self.peek0() - 0x30
            if sig * 10 + digit > U64_MAX:
                return self.long_integer(positive, sig)
            self.i += 1
            sig = sig * 10 + digit
        return self.number(positive, sig)

    def number(self, positive: bool, sig: int) -> JsonValue:
        b = self.peek0()
        if b == 0x2E:
            return self.decimal(positive, sig, 0)
        if b in b"eE":
            return self.exponent(positive, sig, 0)
        if positive:
            return sig
        # serde: `(sig as i64).wrapping_neg()`, an i64 when negative, else -(sig as f64).
        return -sig if 0 < sig <= 2**63 else -float(sig)

    def long_integer(self, positive: bool, sig: int) -> float:
        exponent = 0
        while True:
            b = self.peek0()
            if 0x30 <= b <= 0x39:
                self.i += 1
                exponent += 1
            elif b == 0x2E:
                return self.decimal(positive, sig, exponent)
            elif b in b"eE":
                return self.exponent(positive, sig, exponent)
            else:
                return self.from_parts(positive, sig, exponent)

    def decimal(self, positive: bool, sig: int, exp_before: int) -> float:
        self.i += 1
        after = 0
        while 0x30 <= self.peek0() <= 0x39:
            digit = self.peek0() - 0x30
            if sig * 10 + digit > U64_MAX:
                while 0x30 <= self.peek0() <= 0x39:
                    self.i += 1
                if self.peek0() in b"eE":
                    return self.exponent(positive, sig, exp_before + after)
                return self.from_parts(positive, sig, exp_before + after)
            self.i += 1
            sig = sig * 10 + digit
            after -= 1
        if after == 0:
            what = "invalid number" if self.peek() is not None else "EOF while parsing a value"
            raise self.peek_error(what)
        if self.peek0() in b"eE":
            return self.exponent(positive, sig, exp_before + after)
        return self.from_parts(positive, sig, exp_before + after)

    def exponent(self, positive: bool, sig: int, starting: int) -> float:
        self.i += 1
        positive_exp = True
        if self.peek0() in b"+-":
            positive_exp = self.peek0() == 0x2B
            self.i += 1
        c = self.next()
        if c is None:
            raise self.error("EOF while parsing a value")
        if not 0x30 <= c <= 0x39:
            raise self.error("invalid number")
        exp = c - 0x30
        while 0x30 <= self.peek0() <= 0x39:
            self.i += 1
            digit = self.s[self.i - 1] - 0x30
            if exp * 10 + digit > _I32_MAX:
                if sig != 0 and positive_exp:
                    raise self.error("number out of range")
                while 0x30 <= self.peek0() <= 0x39:
                    self.i += 1
                return 0.0 if positive else -0.0
            exp = exp * 10 + digit
        final = starting + exp if positive_exp else starting - exp
        return self.from_parts(positive, sig, max(_I32_MIN, min(_I32_MAX, final)))

    def from_parts(self, positive: bool, sig: int, exponent: int) -> float:
        f = float(sig)
        while True:
            if abs(exponent) < len(_POW10):
                if exponent >= 0:
                    f *= _POW10[exponent]
                    if f == float("inf"):
                        raise self.error("number out of range")
                else:
                    f /= _POW10[-exponent]
                break
            if f == 0.0:
                break
            if exponent >= 0:
                raise self.error("number out of range")
            f /= 1e308
            exponent += 308
        return f if positive else -f


def parse(text: str) -> JsonValue:
    """Parses a whole JSON text, as `serde_json::from_str::<Value>`.

    Raises `JsonError` with serde_json's message.
    """
    p = _Parser(text)
    value = p.value()
    if p.ws() is not None:
        raise p.peek_error("trailing characters")
    return value


def is_u64(value: JsonValue) -> bool:
    """Whether serde's `Value::as_u64` gives a number."""
    return type(value) is int and value >= 0


def float_text(x: float) -> str:
    """An f64 as serde_json writes it (zmij's shortest form: `1.0`, `1e+20`, `1.5e-7`)."""
    if x == 0.0:
        return "-0.0" if str(x).startswith("-") else "0.0"
    sign = "-" if x < 0 else ""
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    k = (int(exp) if exp else 0) - len(frac)
    stripped = digits.rstrip("0")
    k += len(digits) - len(stripped)
    digits = stripped
    kk = len(digits) + k
    if 0 <= k and kk <= 16:
        return f"{sign}{digits}{'0' * k}.0"
    if 0 < kk <= 16:
        return f"{sign}{digits[:kk]}.{digits[kk:]}"
    if -5 < kk <= 0:
        return f"{sign}0.{'0' * -kk}{digits}"
    exp = f"e+{kk - 1}" if kk >= 1 else f"e{kk - 1}"
    if len(digits) == 1:
        return f"{sign}{digits}{exp}"
    return f"{sign}{digits[0]}.{digits[1:]}{exp}"


def number_text(value: JsonValue) -> str:
    """A number (`int` or `float`) as serde_json writes it."""
    return float_text(value) if isinstance(value, float) else str(value)


_ESCAPES = {0x22: '\\"', 0x5C: "\\\\", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t"}


def string_text(s: str) -> str:
    """A string as a JSON literal, escaped as serde_json does (controls, `"` and `\\` only)."""
    out = ['"']
    for c in s:
        o = ord(c)
        if o in _ESCAPES:
            out.append(_ESCAPES[o])
        elif o < 0x20:
            out.append(f"\\u{o:04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)

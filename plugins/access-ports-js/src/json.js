/**
 * JSON exactly as the Rust plugin's serde_json 1.0 reads and writes it.
 *
 * `parse` accepts and refuses the same texts as `serde_json::from_str::<Value>`
 * (without `float_roundtrip`), with the same messages and positions, and gives:
 * `null`, booleans, strings, arrays, `Map`s (iterate keys with `sortedKeys`, as
 * serde's BTreeMap; a repeated key keeps its last value), `bigint` for serde's
 * u64/i64 numbers and `number` for its f64 (so `1.0`, `1e2` and `-0` are
 * floats, as in Rust). `numberText` and `stringText` write as serde_json does.
 */

import { utf8Encode, utf8Decode, compareCodePoints } from './utf8.js';

const U64_MAX = (1n << 64n) - 1n;
const I32_MAX = 2 ** 31 - 1;
const I32_MIN = -(2 ** 31);
const POW10 = Array.from({ length: 309 }, (_, i) => Number(`1e${i}`));
const [QUOTE, BACKSLASH, ZERO, NINE] = [0x22, 0x5c, 0x30, 0x39];
const SIMPLE_ESCAPES = new Map([[0x22, 0x22], [0x5c, 0x5c], [0x2f, 0x2f], [0x62, 8], [0x66, 12], [0x6e, 10], [0x72, 13], [0x74, 9]]);
const isDigit = (b) => b >= ZERO && b <= NINE;
const WORDS = new Map([[0x6e, ['ull', null]], [0x74, ['rue', true]], [0x66, ['alse', false]]]);

/** A syntax error, displayed like serde_json's: `{what} at line {l} column {c}`. */
export class JsonError extends Error {}

/** serde_json's `Deserializer<StrRead>` reading one `Value`. */
class Parser {
  constructor(text) {
    this.s = utf8Encode(text);
    this.i = 0;
    this.depth = 128;
  }

  peek() { return this.i < this.s.length ? this.s[this.i] : null; }
  peek0() { return this.i < this.s.length ? this.s[this.i] : 0; }
  next() { const b = this.peek(); if (b !== null) this.i += 1; return b; }

  at(index, what) {
    let start = index;
    while (start > 0 && this.s[start - 1] !== 0x0a) start -= 1;
    let line = 1;
    for (let k = 0; k < start; k++) if (this.s[k] === 0x0a) line += 1;
    return new JsonError(`${what} at line ${line} column ${index - start}`);
  }
  error(what) { return this.at(this.i, what); }
  peekError(what) { return this.at(Math.min(this.s.length, this.i + 1), what); }

  ws() {
    const s = this.s;
    let b = this.i < s.length ? s[this.i] : -1;
    while (b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d) {
      this.i += 1;
      b = this.i < s.length ? s[this.i] : -1;
    }
    return this.peek();
  }

  value() {
    const b = this.ws();
    if (b === null) throw this.peekError('EOF while parsing a value');
    const word = WORDS.get(b);
    if (word !== undefined) {
      this.i += 1;
      this.ident(word[0]);
      return word[1];
    }
    if (b === 0x2d) { this.i += 1; return this.integer(false); }
    if (isDigit(b)) return this.integer(true);
    if (b === QUOTE) { this.i += 1; return this.string(); }
    if (b === 0x5b || b === 0x7b) {
      this.depth -= 1;
      if (this.depth === 0) throw this.peekError('recursion limit exceeded');
      this.i += 1;
      const out = b === 0x5b ? this.seq() : this.obj();
      this.depth += 1;
      this.i += 1; // the closing bracket, already seen
      return out;
    }
    throw this.peekError('expected value');
  }

  ident(rest) {
    for (const ch of rest) {
      const got = this.next();
      if (got === null) throw this.error('EOF while parsing a value');
      if (got !== ch.charCodeAt(0)) throw this.error('expected ident');
    }
  }

  /** After the first member: a comma, then anything but the closing `end`. */
  comma(end, expected) {
    if (this.peek() !== 0x2c) throw this.peekError(expected);
    this.i += 1;
    const b = this.ws();
    if (b === end) throw this.peekError('trailing comma');
    if (b === null) throw this.peekError('EOF while parsing a value');
    return b;
  }

  seq() {
    const out = [];
    for (;;) {
      const b = this.ws();
      if (b === null) throw this.peekError('EOF while parsing a list');
      if (b === 0x5d) return out;
      if (out.length > 0) this.comma(0x5d, 'expected `,` or `]`');
      out.push(this.value());
    }
  }

  obj() {
    const out = new Map();
    for (let first = true; ; first = false) {
      let b = this.ws();
      if (b === null) throw this.peekError('EOF while parsing an object');
      if (b === 0x7d) return out;
      if (!first) b = this.comma(0x7d, 'expected `,` or `}`');
      if (b !== QUOTE) throw this.peekError('key must be a string');
      this.i += 1;
      const key = this.string();
      b = this.ws();
      if (b !== 0x3a) throw this.peekError(b === null ? 'EOF while parsing an object' : 'expected `:`');
      this.i += 1;
      out.set(key, this.value());
    }
  }

  string() {
    const parts = [];
    const s = this.s;
    for (;;) {
      const start = this.i;
      let i = start;
      while (i < s.length && s[i] !== QUOTE && s[i] !== BACKSLASH && s[i] >= 0x20) i += 1;
      this.i = i;
      if (i > start) parts.push(utf8Decode(s, start, i));
      const b = this.peek();
      if (b === null) throw this.error('EOF while parsing a string');
      this.i += 1;
      if (b === QUOTE) return parts.join('');
      if (b !== BACKSLASH) throw this.error('control character (\\u0000-\\u001F) found while parsing a string');
      parts.push(this.escape());
    }
  }

  escape() {
    const c = this.next();
    if (c === null) throw this.error('EOF while parsing a string');
    if (SIMPLE_ESCAPES.has(c)) return String.fromCharCode(SIMPLE_ESCAPES.get(c));
    if (c !== 0x75) throw this.error('invalid escape');
    let n = this.hex4();
    if (n >= 0xdc00 && n <= 0xdfff) throw this.error('lone leading surrogate in hex escape');
    if (n >= 0xd800 && n <= 0xdbff) {
      for (const expected of [BACKSLASH, 0x75]) {
        const got = this.peek();
        if (got === null) throw this.error('EOF while parsing a string');
        this.i += 1;
        if (got !== expected) throw this.error('unexpected end of hex escape');
      }
      const n2 = this.hex4();
      if (n2 < 0xdc00 || n2 > 0xdfff) throw this.error('lone leading surrogate in hex escape');
      n = (((n - 0xd800) << 10) | (n2 - 0xdc00)) + 0x10000;
    }
    return String.fromCodePoint(n);
  }

  hex4() {
    if (this.i + 4 > this.s.length) {
      this.i = this.s.length;
      throw this.error('EOF while parsing a string');
    }
    const text = String.fromCharCode(...this.s.subarray(this.i, this.i + 4));
    this.i += 4;
    if (!/^[0-9a-fA-F]{4}$/.test(text)) throw this.error('invalid escape');
    return parseInt(text, 16);
  }

  integer(positive) {
    const c = this.next();
    if (c === null) throw this.error('EOF while parsing a value');
    if (c === ZERO) {
      if (isDigit(this.peek0())) throw this.peekError('invalid number');
      return this.number(positive, 0n);
    }
    if (!isDigit(c) ) throw this.error('invalid number');
    let sig = BigInt(c - ZERO);
    while (isDigit(this.peek0())) {
      const digit = BigInt(this.peek0() - ZERO);
      if (sig * 10n + digit > U64_MAX) return this.longInteger(positive, sig);
      this.i += 1;
      sig = sig * 10n + digit;
    }
    return this.number(positive, sig);
  }

  number(positive, sig) {
    const b = this.peek0();
    if (b === 0x2e) return this.decimal(positive, sig, 0);
    if (b === 0x65 || b === 0x45) return this.exponent(positive, sig, 0);
    if (positive) return sig;
    // serde: `(sig as i64).wrapping_neg()`, an i64 when negative, else -(sig as f64).
    return sig > 0n && sig <= 1n << 63n ? -sig : -Number(sig);
  }

  longInteger(positive, sig) {
    let exponent = 0;
    for (;;) {
      const b = this.peek0();
      if (isDigit(b)) { this.i += 1; exponent += 1; }
      else if (b === 0x2e) return this.decimal(positive, sig, exponent);
      else if (b === 0x65 || b === 0x45) return this.exponent(positive, sig, exponent);
      else return this.fromParts(positive, sig, exponent);
    }
  }

  decimal(positive, sig, before) {
    this.i += 1;
    let after = 0;
    while (isDigit(this.peek0())) {
      const digit = BigInt(this.peek0() - ZERO);
      if (sig * 10n + digit > U64_MAX) {
        while (isDigit(this.peek0())) this.i += 1;
        const b = this.peek0();
        if (b === 0x65 || b === 0x45) return this.exponent(positive, sig, before + after);
        return this.fromParts(positive, sig, before + after);
      }
      this.i += 1;
      sig = sig * 10n + digit;
      after -= 1;
    }
    if (after === 0) throw this.peekError(this.peek() !== null ? 'invalid number' : 'EOF while parsing a value');
    const b = this.peek0();
    if (b === 0x65 || b === 0x45) return this.exponent(positive, sig, before + after);
    return this.fromParts(positive, sig, before + after);
  }

  exponent(positive, sig, starting) {
    this.i += 1;
    let positiveExp = true;
    if (this.peek0() === 0x2b || this.peek0() === 0x2d) {
      positiveExp = this.peek0() === 0x2b;
      this.i += 1;
    }
    const c = this.next();
    if (c === null) throw this.error('EOF while parsing a value');
    if (!isDigit(c)) throw this.error('invalid number');
    let exp = c - ZERO;
    while (isDigit(this.peek0())) {
      this.i += 1;
      const digit = this.s[this.i - 1] - ZERO;
      if (exp * 10 + digit > I32_MAX) {
        if (sig !== 0n && positiveExp) throw this.error('number out of range');
        while (isDigit(this.peek0())) this.i += 1;
        return positive ? 0 : -0;
      }
      exp = exp * 10 + digit;
    }
    const final = positiveExp ? starting + exp : starting - exp;
    return this.fromParts(positive, sig, Math.max(I32_MIN, Math.min(I32_MAX, final)));
  }

  fromParts(positive, sig, exponent) {
    let f = Number(sig);
    for (;;) {
      if (Math.abs(exponent) < POW10.length) {
        if (exponent >= 0) {
          f *= POW10[exponent];
          if (f === Infinity) throw this.error('number out of range');
        } else {
          f /= POW10[-exponent];
        }
        break;
      }
      if (f === 0) break;
      if (exponent >= 0) throw this.error('number out of range');
      f /= 1e308;
      exponent += 308;
    }
    return positive ? f : -f;
  }
}

/** Parses a whole JSON text, as `serde_json::from_str::<Value>`; throws `JsonError`. */
export function parse(text) {
  const p = new Parser(text);
  const value = p.value();
  if (p.ws() !== null) throw p.peekError('trailing characters');
  return value;
}

/** A Map's keys in serde_json's (BTreeMap) order. */
export function sortedKeys(map) {
  return [...map.keys()].sort(compareCodePoints);
}

/** Whether serde's `Value::as_u64` gives a number. */
export function isU64(value) {
  return typeof value === 'bigint' && value >= 0n;
}

/** An f64 as serde_json writes it (zmij's shortest form: `1.0`, `1e+20`, `1.5e-7`). */
export function floatText(x) {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, exp = '0'] = String(Math.abs(x)).split('e');
  const [whole, frac = ''] = mantissa.split('.');
  let digits = (whole + frac).replace(/^0+/, '');
  let k = Number(exp) - frac.length;
  const stripped = digits.replace(/0+$/, '');
  k += digits.length - stripped.length;
  digits = stripped;
  const kk = digits.length + k;
  if (k >= 0 && kk <= 16) return `${sign}${digits}${'0'.repeat(k)}.0`;
  if (kk > 0 && kk <= 16) return `${sign}${digits.slice(0, kk)}.${digits.slice(kk)}`;
  if (kk > -5 && kk <= 0) return `${sign}0.${'0'.repeat(-kk)}${digits}`;
  const e = kk >= 1 ? `e+${kk - 1}` : `e${kk - 1}`;
  return digits.length === 1 ? `${sign}${digits}${e}` : `${sign}${digits[0]}.${digits.slice(1)}${e}`;
}

/** A number (`bigint` or `number`) as serde_json writes it. */
export function numberText(value) {
  return typeof value === 'bigint' ? value.toString() : floatText(value);
}

/** A string as a JSON literal, escaped as serde_json does (controls, `"` and `\` only). */
export function stringText(s) {
  return JSON.stringify(s);
}

/** Compact JSON with object keys sorted, as serde_json writes a `Value`. */
export function sortedJson(value) {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort(compareCodePoints);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

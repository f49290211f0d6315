/**
 * Text helpers that behave like Rust's `core`: `{:?}` quoting,
 * `char::is_whitespace`, `char::is_control`, `str::trim`.
 *
 * The character classes come from `unicode.js`, which scripts/build-polyglot.sh
 * generates from the Rust toolchain itself (scripts/polyglot/rust_chars.rs).
 */

import { CONTROL, ESCAPE, WHITESPACE } from './unicode.js';

const BACKSLASH = new Map([['\0', '\\0'], ['\t', '\\t'], ['\r', '\\r'], ['\n', '\\n'], ['\\', '\\\\']]);

/** Whether code point `c` is in the sorted inclusive `ranges` (binary search). */
function search(ranges, c) {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < ranges[mid][0]) hi = mid - 1;
    else if (c > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** A membership test for `ranges`, with the ASCII answers looked up in a table. */
function classOf(ranges) {
  const ascii = Array.from({ length: 128 }, (_, c) => search(ranges, c));
  return (c) => (c < 128 ? ascii[c] : search(ranges, c));
}

const within = { whitespace: classOf(WHITESPACE), control: classOf(CONTROL), escape: classOf(ESCAPE) };

/** Rust's `char::is_whitespace` (Unicode White_Space), for one character. */
export const isWhitespace = (ch) => within.whitespace(ch.codePointAt(0));

/** Rust's `char::is_control` (general category Cc), for one character. */
export const isControl = (ch) => within.control(ch.codePointAt(0));

/** Rust's `is_ascii_digit`, for one character. */
export const isAsciiDigit = (ch) => ch >= '0' && ch <= '9' && ch.length === 1;

/** Rust's `is_ascii_alphabetic`, for one character. */
export const isAsciiAlpha = (ch) => (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');

/** Rust's `str::trim`: strips White_Space at both ends (all of it is in the BMP). */
export function trim(text) {
  let start = 0;
  let end = text.length;
  while (start < end && isWhitespace(text[start])) start += 1;
  while (end > start && isWhitespace(text[end - 1])) end -= 1;
  return text.slice(start, end);
}

function escaped(ch, quote) {
  if (BACKSLASH.has(ch)) return BACKSLASH.get(ch);
  if (ch === quote) return `\\${ch}`;
  if (ch === '"' || ch === "'") return ch;
  const c = ch.codePointAt(0);
  return within.escape(c) ? `\\u{${c.toString(16)}}` : ch;
}

/** `format!("{:?}", s)` for a `&str`: `"Ethernet1"`, `"a\u{301}"`. */
export function debugStr(text) {
  let out = '"';
  for (const ch of text) out += escaped(ch, '"');
  return `${out}"`;
}

/** `format!("{:?}", c)` for a `char`: `'\n'`, `'\u{7f}'`. */
export function debugChar(ch) {
  return `'${escaped(ch, "'")}'`;
}

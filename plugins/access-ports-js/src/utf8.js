/**
 * UTF-8 and code points, so that lengths, slices and orders match Rust's
 * `str` (which counts and compares Unicode scalar values and UTF-8 bytes),
 * not JavaScript's UTF-16 code units.
 */

const ENCODER = typeof TextEncoder === 'function' ? new TextEncoder() : null;
const DECODER = typeof TextDecoder === 'function' ? new TextDecoder() : null;

/** The UTF-8 bytes of a (well-formed) string. */
export function utf8Encode(text) {
  if (ENCODER !== null) return ENCODER.encode(text);
  const out = [];
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/** Decodes `bytes[start..end]`, which is well-formed UTF-8. */
export function utf8Decode(bytes, start, end) {
  if (DECODER !== null) return DECODER.decode(bytes.subarray(start, end));
  const points = [];
  let i = start;
  while (i < end) {
    const b = bytes[i];
    const n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    let c = n === 1 ? b : b & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) c = (c << 6) | (bytes[i + k] & 0x3f);
    points.push(c);
    i += n;
  }
  let out = '';
  for (let k = 0; k < points.length; k += 4096) out += String.fromCodePoint(...points.slice(k, k + 4096));
  return out;
}

/** Compares by code point (the order of UTF-8 bytes, Rust's `str` order): -1, 0 or 1. */
export function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // UTF-16 order differs from code point order only above U+D7FF:
      // surrogates (astral characters) sort after U+E000..U+FFFF.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** The number of Unicode scalar values (Rust's `chars().count()`). */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

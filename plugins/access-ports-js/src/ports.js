/**
 * Port names: expanding ranges such as `Ethernet1-4` and sorting in natural order.
 *
 * A port of plugins/sdk/src/ports.rs: same syntax, same order, same messages.
 * Port numbers are u64 in Rust, so they are `bigint`s here.
 */

import { debugStr, isAsciiAlpha, isAsciiDigit, isWhitespace, trim } from './rust-text.js';
import { utf8Encode } from './utf8.js';

/** The most ports one range may expand to; guards against `Ethernet1-999999999`. */
export const MAX_RANGE_LEN = 4096n;
const U64_MAX = (1n << 64n) - 1n;

/** Why a port list could not be expanded; displays as Rust's `PortError`. */
export class PortError extends Error {
  constructor(item, reason) {
    super(`invalid port ${debugStr(item)}: ${reason}`);
    this.item = item;
    this.reason = reason;
  }
}

const allDigits = (s) => [...s].every(isAsciiDigit);

/** A name with a dash that is not a range (`ge-0/0/1`): letters only before the first dash. */
function isDashedName(item) {
  const kind = item.slice(0, item.indexOf('-'));
  return kind !== '' && [...kind].every(isAsciiAlpha);
}

function parseU64(item, digits) {
  const value = BigInt(digits);
  if (value > U64_MAX) throw new PortError(item, 'port number is too large');
  return value;
}

/** Expands one port name, or a range over its last number (`Ethernet1/1-4`); throws `PortError`. */
export function expandItem(item) {
  const t = trim(item);
  if (t === '') throw new PortError(item, 'empty port name');
  for (const c of t) {
    if (c === ',' || isWhitespace(c)) throw new PortError(item, 'a port name cannot contain spaces or commas');
  }
  let head = t;
  let end = null;
  const dash = t.lastIndexOf('-');
  if (dash >= 0) {
    const after = t.slice(dash + 1);
    if (after !== '' && allDigits(after)) {
      head = t.slice(0, dash);
      end = after;
    } else if (!isDashedName(t)) {
      throw new PortError(item, 'a range must end in a number, e.g. Ethernet1-4 or Ethernet1/1-4');
    }
  }
  const start = /[0-9]*$/.exec(head)[0];
  if (start === '') {
    throw new PortError(item, 'a port name must end in a number, e.g. Ethernet1 or Ethernet1/1');
  }
  const prefix = head.slice(0, head.length - start.length);
  if (prefix === '' || !isAsciiAlpha(prefix[0])) {
    throw new PortError(item, 'a port name must start with a letter, e.g. Ethernet1');
  }
  if (end === null) return [t];
  if (prefix.includes('-')) {
    throw new PortError(
      item,
      "only the last number of a port may be a range, and a name that contains '-' " +
        '(e.g. ge-0/0/1) cannot be a range: list its ports one by one',
    );
  }
  const first = parseU64(item, start);
  const last = parseU64(item, end);
  if (last < first) {
    throw new PortError(item, `range is reversed (${first} > ${last}); write the lower bound first`);
  }
  if (last - first >= MAX_RANGE_LEN) {
    throw new PortError(item, `range spans more than ${MAX_RANGE_LEN} ports`);
  }
  const out = [];
  for (let n = first; n <= last; n += 1n) out.push(`${prefix}${n}`);
  return out;
}

/** Expands `Ethernet1-4,Ethernet7` into names sorted naturally, without duplicates. */
export function expandList(text) {
  const ports = [];
  for (const part of text.split(',')) ports.push(...expandItem(part));
  return sortNatural(ports);
}

/** Sorts in natural order (stable) and drops adjacent duplicates, as Rust's `sort_natural`. */
export function sortNatural(names) {
  const out = [];
  for (const name of sortByName(names, (n) => n)) {
    if (out.length === 0 || out[out.length - 1] !== name) out.push(name);
  }
  return out;
}

/** A stable natural sort of `items` by `name(item)`, encoding each name once. */
export function sortByName(items, name) {
  const keyed = items.map((item) => [utf8Encode(name(item)), item]);
  keyed.sort((a, b) => naturalCmpBytes(a[0], b[0]));
  return keyed.map((k) => k[1]);
}

const digit = (b) => b >= 0x30 && b <= 0x39;

/** Compares names in natural order on their UTF-8 bytes: digit runs compare as numbers. */
export function naturalCmp(a, b) {
  return naturalCmpBytes(utf8Encode(a), utf8Encode(b));
}

/** `naturalCmp` on UTF-8 bytes (Rust's `natural_cmp`). */
export function naturalCmpBytes(x, y) {
  let i = 0;
  let j = 0;
  for (;;) {
    if (i === x.length || j === y.length) return (i < x.length) - (j < y.length);
    if (digit(x[i]) && digit(y[j])) {
      let ei = i;
      while (ei < x.length && digit(x[ei])) ei += 1;
      let ej = j;
      while (ej < y.length && digit(y[ej])) ej += 1;
      // Leading zeros do not count, but a run keeps at least one digit.
      while (i < ei - 1 && x[i] === 0x30) i += 1;
      while (j < ej - 1 && y[j] === 0x30) j += 1;
      if (ei - i !== ej - j) return ei - i < ej - j ? -1 : 1;
      for (; i < ei; i++, j++) if (x[i] !== y[j]) return x[i] < y[j] ? -1 : 1;
    } else if (x[i] !== y[j]) {
      return x[i] < y[j] ? -1 : 1;
    } else {
      i += 1;
      j += 1;
    }
  }
}

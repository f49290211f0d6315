/**
 * VLAN lists such as `[100, "102-105"]`: parsing, merging and canonical forms.
 *
 * A port of plugins/access-ports/src/vlans.rs. Ranges are `[low, high]` pairs of numbers.
 */

import { describe } from './fields.js';
import { isU64 } from './json.js';
import { isAsciiDigit, trim } from './rust-text.js';

export const VLAN_MIN = 1;
export const VLAN_MAX = 4094;

function parseId(text) {
  const t = trim(text);
  if (t === '' || ![...t].every(isAsciiDigit)) return null;
  const significant = t.replace(/^0+/, '');
  if (significant.length > 5) return null; // beyond u16: Rust's parse fails
  const value = Number(significant || '0');
  return value >= VLAN_MIN && value <= VLAN_MAX ? value : null;
}

function parseText(text) {
  const out = [];
  for (const part of text.split(',')) {
    const dash = part.indexOf('-');
    if (dash >= 0) {
      const a = parseId(part.slice(0, dash));
      const b = parseId(part.slice(dash + 1));
      if (a === null || b === null || a > b) return null;
      out.push([a, b]);
    } else {
      const v = parseId(part);
      if (v === null) return null;
      out.push([v, v]);
    }
  }
  return out;
}

/** Parses VLAN ids and ranges found at `field`; a violation on `field[i]` per bad item. */
export function parseList(field, items, errs) {
  if (items.length === 0) {
    errs.push(field, `${field} must list at least one VLAN, e.g. [100, "200-210"]`);
    return null;
  }
  const ranges = [];
  let ok = true;
  items.forEach((item, i) => {
    let parsed = null;
    if (isU64(item) && item >= BigInt(VLAN_MIN) && item <= BigInt(VLAN_MAX)) parsed = [[Number(item), Number(item)]];
    else if (typeof item === 'string') parsed = parseText(item);
    if (parsed === null) {
      ok = false;
      errs.push(
        `${field}[${i}]`,
        `${field}[${i}] must be a VLAN id from ${VLAN_MIN} to ${VLAN_MAX} or a range ` +
          `such as "100-110" (lower bound first), got ${describe(item)}`,
      );
    } else {
      ranges.push(...parsed);
    }
  });
  return ok ? merge(ranges) : null;
}

/** Sorts ranges and merges overlapping or adjacent ones. */
export function merge(ranges) {
  const out = [];
  const sorted = [...ranges].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The canonical JSON list: single VLANs as numbers, runs as `"a-b"` strings. */
export const toJson = (ranges) => ranges.map(([a, b]) => (a === b ? a : `${a}-${b}`));

/** The CLI form used by EOS: `100-105,120`. */
export const toCli = (ranges) => ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');

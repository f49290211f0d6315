/**
 * Reading a service's JSON `spec` field by field, collecting every violation with its path.
 *
 * A port of plugins/sdk/src/spec.rs: same checks, same messages, same order.
 * A violation is `{ field, message }`, the shape of the WIT record.
 */

import { JsonError, isU64, numberText, parse, sortedKeys, stringText } from './json.js';
import { debugChar, debugStr, isControl, trim } from './rust-text.js';
import { charCount } from './utf8.js';

/** The service is refused; `violations` says why. */
export class Invalid extends Error {
  constructor(violations) {
    super('invalid service');
    this.violations = violations;
  }
}

/** Violations collected while a service is checked. */
export class Violations {
  constructor() {
    this.items = [];
  }

  push(field, message) {
    this.items.push({ field, message });
  }

  isEmpty() {
    return this.items.length === 0;
  }
}

/** Parses a service's `spec` (JSON text), which must be an object (a `Map`); throws `Invalid`. */
export function parseSpec(spec) {
  let value;
  try {
    value = parse(spec);
  } catch (e) {
    if (e instanceof JsonError) throw new Invalid([{ field: 'spec', message: `spec is not valid JSON: ${e.message}` }]);
    throw e;
  }
  if (!(value instanceof Map)) {
    throw new Invalid([{ field: 'spec', message: `spec must be an object, got ${describe(value)}` }]);
  }
  return value;
}

/** Describes a JSON value for a message: its type and, if short, the value. */
export function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (Array.isArray(value)) return `a list of ${value.length} item(s)`;
  if (value instanceof Map) return 'an object';
  const [kind, text] = typeof value === 'string' ? ['the string', stringText(value)] : ['the number', numberText(value)];
  const chars = [...text];
  return chars.length > 40 ? `${kind} ${chars.slice(0, 40).join('')}...` : `${kind} ${text}`;
}

/** Checks a free-text field: at most `maxChars` characters, no control characters. */
export function checkLine(field, text, maxChars, errs) {
  const len = charCount(text);
  if (len > maxChars) {
    errs.push(field, `${field} is ${len} characters long; shorten it to at most ${maxChars}`);
    return false;
  }
  for (const ch of text) {
    if (isControl(ch)) {
      errs.push(field, `${field} must be one line of printable text; remove the character ${debugChar(ch)}`);
      return false;
    }
  }
  return true;
}

/** A JSON object (a `Map`) being read, with the path used to name its fields. */
export class Fields {
  constructor(map, path) {
    this.map = map;
    this.path = path;
  }

  field(key) {
    return `${this.path}.${key}`;
  }

  /** Records a violation for every key not in `allowed` (keys in sorted order, as Rust). */
  rejectUnknown(allowed, errs) {
    for (const key of sortedKeys(this.map)) {
      if (!allowed.includes(key)) {
        errs.push(
          this.field(key),
          `unknown field ${debugStr(key)} in ${this.path}; the allowed fields are: ${allowed.join(', ')}`,
        );
      }
    }
  }

  /** The value of `key`; absent and `null` are both `null`. */
  get(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }

  missing(key, what, errs) {
    errs.push(this.field(key), `${this.field(key)} is required: set it to ${what}`);
  }

  wrong(key, what, got, errs) {
    errs.push(this.field(key), `${this.field(key)} must be ${what}, got ${describe(got)}`);
  }

  /** An optional string field. */
  string(key, errs) {
    const value = this.get(key);
    if (value === null || typeof value === 'string') return value;
    this.wrong(key, 'a string', value, errs);
    return null;
  }

  /** A required, non-empty string field; `what` says what it should be. */
  requiredString(key, what, errs) {
    const value = this.get(key);
    if (value === null || (typeof value === 'string' && trim(value) === '')) {
      this.missing(key, what, errs);
      return null;
    }
    if (typeof value === 'string') return value;
    this.wrong(key, what, value, errs);
    return null;
  }

  /** An optional integer field in `lo..=hi`, as a `number`. */
  integer(key, lo, hi, errs) {
    const value = this.get(key);
    if (value === null) return null;
    if (isU64(value) && value >= BigInt(lo) && value <= BigInt(hi)) return Number(value);
    this.wrong(key, `a whole number from ${lo} to ${hi}`, value, errs);
    return null;
  }

  /** A required integer field in `lo..=hi`. */
  requiredInteger(key, lo, hi, errs) {
    if (this.get(key) === null) {
      this.missing(key, `a whole number from ${lo} to ${hi}`, errs);
      return null;
    }
    return this.integer(key, lo, hi, errs);
  }

  /** An optional boolean field. */
  boolean(key, errs) {
    const value = this.get(key);
    if (value === null || typeof value === 'boolean') return value;
    this.wrong(key, 'true or false', value, errs);
    return null;
  }

  /** An optional string field that must be one of `choices`. */
  choice(key, choices, errs) {
    const value = this.get(key);
    if (value === null) return null;
    if (typeof value === 'string' && choices.includes(value)) return value;
    this.wrong(key, `one of ${choices.join(', ')}`, value, errs);
    return null;
  }

  /** An optional list field. */
  array(key, errs) {
    const value = this.get(key);
    if (value === null || Array.isArray(value)) return value;
    this.wrong(key, 'a list', value, errs);
    return null;
  }
}

// RFC 8785 (JSON Canonicalization Scheme), as lgcraft/provenance/canonical.py applies it:
// members sorted by UTF-16 code units, no white space, strings escaped as ECMAScript's
// JSON.stringify does. Floats, integers beyond 2^53-1 and lone surrogates are refused,
// exactly where the Python side refuses them (so both sides fail the same record).
import { Num } from './json.js';

export class CanonError extends Error {}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serialise(value, path, out) {
  if (value === null || value === true || value === false) {
    out.push(String(value));
  } else if (typeof value === 'number') {
    out.push(String(value));
  } else if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new CanonError(`${path}: a string holds a lone surrogate`);
    out.push(JSON.stringify(value));
  } else if (value instanceof Num) {
    throw new CanonError(value.isInteger
      ? `${path}: integer ${value.text} is beyond 2^53-1 and cannot be hashed exactly`
      : `${path}: ${value.text} is a float; use integer units (milligrams, hundredths of a carat)`);
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i) out.push(',');
      serialise(item, `${path}[${i}]`, out);
    });
    out.push(']');
  } else {
    const keys = Object.keys(value).sort();
    out.push('{');
    keys.forEach((key, i) => {
      if (LONE_SURROGATE.test(key)) throw new CanonError(`${path}: a key holds a lone surrogate`);
      if (i) out.push(',');
      out.push(JSON.stringify(key), ':');
      serialise(value[key], `${path}.${key}`, out);
    });
    out.push('}');
  }
}

export function canonicalText(value, path = 'record') {
  const out = [];
  serialise(value, path, out);
  return out.join('');
}

export function canonicalBytes(value, path = 'record') {
  return new TextEncoder().encode(canonicalText(value, path));
}

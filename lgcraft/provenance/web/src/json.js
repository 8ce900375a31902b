// Strict JSON for proof bundles: what `lgcraft provenance verify` accepts, no more.
//
// JSON.parse keeps the last of two equal keys and turns 2^60 into a rounded float, so
// a record can read one way here and hash another way: this parser refuses duplicate
// keys, keeps numbers it cannot hold exactly as marked text (`Num`), and checks size
// and nesting before it recurses, so a hostile file ends in a named error, not a crash.

// lgcraft/provenance/strictjson.py's limits
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;
export const MAX_DEPTH = 32;

export class MalformedError extends Error {
  constructor(message) {
    super(message);
    this.name = 'MalformedError';
  }
}

// A JSON number that is not a safe integer: a fraction, an exponent or a big integer.
export class Num {
  constructor(text, isInteger) {
    this.text = text;
    this.isInteger = isInteger;
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

export function parseStrict(text, { maxDepth = MAX_DEPTH, maxBytes = MAX_BUNDLE_BYTES } = {}) {
  const size = text.length * 3 > maxBytes ? new TextEncoder().encode(text).length : text.length;
  if (size > maxBytes) throw new MalformedError(`${size} bytes, more than the limit of ${maxBytes} bytes`);
  // nesting is measured before parsing, so a deep file never reaches the recursion
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) throw new MalformedError(`nesting deeper than ${maxDepth} levels`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  let pos = 0;
  const fail = (what) => {
    const at = pos >= text.length ? 'end of file (truncated?)' : `character ${pos + 1}`;
    throw new MalformedError(`not valid JSON: ${what} at ${at}`);
  };
  const skip = () => {
    while (pos < text.length && WS.has(text.charCodeAt(pos))) pos++;
  };
  const string = () => {
    pos++; // opening quote
    let out = '';
    let start = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(start, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail('control character in a string');
      if (c === 0x5c) {
        out += text.slice(start, pos);
        const e = text[pos + 1];
        const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e in simple) {
          out += simple[e];
          pos += 2;
        } else if (e === 'u') {
          const hex = text.slice(pos + 2, pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 6;
        } else fail('bad escape');
        start = pos;
      } else pos++;
    }
  };
  const value = () => {
    skip();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj = Object.create(null);
      skip();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        skip();
        if (text[pos] !== '"') fail('expected a key');
        const key = string();
        if (Object.prototype.hasOwnProperty.call(obj, key)) {
          throw new MalformedError(`duplicate key "${key.slice(0, 40)}"`);
        }
        skip();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        obj[key] = value();
        skip();
        if (text[pos] === ',') pos++;
        else if (text[pos] === '}') {
          pos++;
          return obj;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const arr = [];
      skip();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        skip();
        if (text[pos] === ',') pos++;
        else if (text[pos] === ']') {
          pos++;
          return arr;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) fail('unexpected character');
    pos += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0]);
      if (Number.isSafeInteger(n)) return n;
      return new Num(m[0], true);
    }
    return new Num(m[0], false);
  };
  const result = value();
  skip();
  if (pos !== text.length) fail('extra data after the JSON value');
  return result;
}

export const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Num);

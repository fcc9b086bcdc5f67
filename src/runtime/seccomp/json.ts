// A strict JSON (RFC 8259) reader for seccomp profiles. Why not JSON.parse: argument values are
// unsigned 64-bit (e.g. a mask of 0xffffffffffffffff), and JSON.parse turns 18446744073709551615
// into the double 18446744073709552000: a filter built from that would compare against the wrong
// number. Here an integer that a double cannot hold exactly is returned as a bigint. It also
// rejects duplicate keys, which JSON.parse silently resolves to the last one (so a second
// "action" could quietly override the first), and reports errors as line:column.
import { NsxError } from '../errors.js';

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Parses text; errors are NsxError "seccomp profile SOURCE: invalid JSON at LINE:COL: ...". */
export function parseJson(text: string, source: string): JsonValue {
  const p = new JsonReader(text, source);
  p.skipSpace();
  const value = p.value(0);
  p.skipSpace();
  if (p.pos < text.length) p.fail('unexpected text after the JSON value');
  return value;
}

// Nesting limit: a profile is 4 levels deep; this only stops pathological input from
// overflowing the JavaScript stack with a confusing RangeError.
const MAX_DEPTH = 64;

class JsonReader {
  pos = 0;
  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  fail(problem: string, at = this.pos): never {
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    const col = at - before.lastIndexOf('\n');
    throw new NsxError(`seccomp profile ${this.source}: invalid JSON at line ${line}, column ${col}: ${problem}`, {
      hint: 'fix the JSON syntax (a validator such as `jq . FILE` shows the same position); Docker profiles are plain JSON without comments or trailing commas',
    });
  }

  skipSpace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos])) this.pos++;
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`);
  }

  object(depth: number): JsonObject {
    // A null-prototype object: a key named "__proto__" or "constructor" is just a key.
    const out: JsonObject = Object.create(null);
    this.pos++; // {
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail('expected a "key" in double quotes');
      const keyAt = this.pos;
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(out, key)) this.fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail('expected ":" after the key');
      this.pos++;
      this.skipSpace();
      out[key] = this.value(depth + 1);
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') this.fail('expected "," or "}" in the object', this.pos - 1);
    }
  }

  array(depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    this.pos++; // [
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') this.fail('expected "," or "]" in the array', this.pos - 1);
    }
  }

  string(): string {
    const start = this.pos;
    this.pos++; // opening quote
    // Grammar per RFC 8259 section 7: no raw control characters, only the listed escapes.
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail('unterminated string', start);
      if (c === '"') break;
      if (c < ' ') this.fail('control character in a string (escape it)');
      if (c === '\\') {
        const e = this.text[this.pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) this.fail('bad \\u escape');
          this.pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail('bad escape in a string');
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    this.pos++; // closing quote
    // The slice is now known to be a valid JSON string literal; JSON.parse decodes its escapes.
    return JSON.parse(this.text.slice(start, this.pos)) as string;
  }

  number(): number | bigint {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos));
    if (!m) return this.fail('malformed number');
    this.pos += m[0].length;
    const isInteger = m[1] === undefined && m[2] === undefined;
    const n = Number(m[0]);
    // Exact integers beyond 2^53 keep every digit as a bigint; validators decide if they fit.
    if (isInteger && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }
}

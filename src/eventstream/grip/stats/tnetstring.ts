/**
 * A TNetString (tnetstrings.info) decoder: Pushpin's stats socket writes
 * its packets in this format unless `stats_format=json`. Each value is
 * `<byte length>:<payload><type>`, where the type is `,` (bytes), `#`
 * (integer), `^` (float), `!` (boolean), `~` (null), `}` (dictionary of
 * string keys) or `]` (list). Strings are decoded as UTF-8.
 */
export type TnetValue =
  string | number | boolean | null | readonly TnetValue[] | { readonly [key: string]: TnetValue };

/** Decodes one value that fills `data` exactly; throws on anything else. */
export function decodeTnetString(data: Uint8Array): TnetValue {
  const [value, end] = decodeAt(data, 0);
  if (end !== data.length) throw new Error(`${data.length - end} bytes after the value`);
  return value;
}

const COLON = 0x3a;
/** Deeper than any packet Pushpin writes: a hostile one cannot exhaust the stack. */
const MAX_DEPTH = 8;

function decodeAt(data: Uint8Array, start: number, depth = 0): [TnetValue, number] {
  if (depth > MAX_DEPTH) throw new Error('values nested too deep');
  const colon = data.indexOf(COLON, start);
  // A length has at most 9 digits: nothing Pushpin writes comes near 1 GB.
  if (colon < 0 || colon === start || colon - start > 9) throw new Error('no length');
  const digits = Buffer.from(data.subarray(start, colon)).toString('latin1');
  if (!/^\d+$/.test(digits)) throw new Error(`bad length "${digits}"`);
  const length = Number(digits);
  const payloadStart = colon + 1;
  const typeAt = payloadStart + length;
  if (typeAt >= data.length) throw new Error('truncated value');
  const payload = data.subarray(payloadStart, typeAt);
  const text = () => Buffer.from(payload).toString('utf8');
  const end = typeAt + 1;
  switch (String.fromCharCode(data[typeAt])) {
    case ',':
      return [text(), end];
    case '#': {
      if (!/^-?\d+$/.test(text())) throw new Error(`bad integer "${text()}"`);
      return [Number(text()), end];
    }
    case '^': {
      const number = Number(text());
      if (text() === '' || !Number.isFinite(number)) throw new Error(`bad float "${text()}"`);
      return [number, end];
    }
    case '!':
      if (text() === 'true') return [true, end];
      if (text() === 'false') return [false, end];
      throw new Error(`bad boolean "${text()}"`);
    case '~':
      if (length !== 0) throw new Error('null with a payload');
      return [null, end];
    case ']': {
      const items: TnetValue[] = [];
      for (let at = payloadStart; at < typeAt;) {
        const [item, next] = decodeAt(data.subarray(0, typeAt), at, depth + 1);
        items.push(item);
        at = next;
      }
      return [items, end];
    }
    case '}': {
      const entries: [string, TnetValue][] = [];
      for (let at = payloadStart; at < typeAt;) {
        const [key, afterKey] = decodeAt(data.subarray(0, typeAt), at, depth + 1);
        if (typeof key !== 'string') throw new Error('a dictionary key that is not a string');
        if (afterKey >= typeAt) throw new Error(`no value for key "${key}"`);
        const [value, next] = decodeAt(data.subarray(0, typeAt), afterKey, depth + 1);
        entries.push([key, value]);
        at = next;
      }
      return [Object.fromEntries<TnetValue>(entries), end];
    }
    default:
      throw new Error(`unknown type "${String.fromCharCode(data[typeAt])}"`);
  }
}

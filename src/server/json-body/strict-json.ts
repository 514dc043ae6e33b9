import { type JSONPath, visit } from 'jsonc-parser';

/** More are not listed: a body can hold thousands, and the first few say what is wrong. */
const MAX_PROBLEMS = 10;

/** A lone surrogate: unicode mode matches a surrogate only when it is not half of a pair. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

const NUMBER = /^-?(?:0|[1-9]\d*)(\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * What in a JSON text `JSON.parse` would not keep: duplicate keys (all but
 * the last dropped), integers beyond ±(2^53−1) (rounded), numbers that
 * overflow to a non-finite value (stored as `null`) or underflow to 0, and
 * lone surrogates (stored as U+FFFD). Each problem names its path. Other
 * decimals round to the nearest double, as every JSON parser built on IEEE
 * doubles does (RFC 8259, section 6), and are not reported.
 *
 * Expects text that `JSON.parse` accepts, nested no deeper than the call
 * stack allows (the scanner recurses per level).
 */
export function strictJsonProblems(text: string): string[] {
  const problems: string[] = [];
  const keysOfOpenObjects: Set<string>[] = [];
  const report = (path: JSONPath, problem: string) => {
    if (problems.length <= MAX_PROBLEMS) problems.push(`${describePath(path)}: ${problem}`);
  };
  visit(
    text,
    {
      onObjectBegin: () => void keysOfOpenObjects.push(new Set()),
      onObjectEnd: () => void keysOfOpenObjects.pop(),
      onObjectProperty: (key, _offset, _length, _line, _column, pathSupplier) => {
        const keys = keysOfOpenObjects[keysOfOpenObjects.length - 1];
        if (LONE_SURROGATE.test(key)) {
          report(pathSupplier(), `the key ${quote(key)} has a lone surrogate`);
        }
        if (keys.has(key)) report(pathSupplier(), `duplicate key ${quote(key)}`);
        keys.add(key);
      },
      onLiteralValue: (value: unknown, offset, length, _line, _column, pathSupplier) => {
        if (typeof value === 'string') {
          if (LONE_SURROGATE.test(value)) report(pathSupplier(), 'the string has a lone surrogate');
          return;
        }
        const literal = text.slice(offset, offset + length);
        const problem = numberProblem(literal);
        if (problem) report(pathSupplier(), problem);
      },
    },
    { disallowComments: true, allowTrailingComma: false },
  );
  if (problems.length > MAX_PROBLEMS) {
    problems[MAX_PROBLEMS] = `(more problems not listed)`;
  }
  return problems;
}

/** Why a JSON number literal would not be kept, if it would not. */
function numberProblem(literal: string): string | undefined {
  const match = NUMBER.exec(literal);
  if (!match) return undefined; // true, false, null
  const value = Number(literal);
  const shown = shorten(literal);
  if (!Number.isFinite(value)) return `the number ${shown} is too large to be stored`;
  const mantissa = literal.split(/[eE]/)[0];
  if (value === 0 && /[1-9]/.test(mantissa)) {
    return `the number ${shown} is too small to be stored (it would become 0)`;
  }
  const isIntegerLiteral = match[1] === undefined && !/[eE]/.test(literal);
  if (isIntegerLiteral && !Number.isSafeInteger(value)) {
    return `the integer ${shown} is beyond ±(2^53−1) and would not be stored exactly`;
  }
  return undefined;
}

/** `events.0.data.a`, the way the body's other 400s name a field; odd keys quoted, long ones cut. */
function describePath(path: JSONPath): string {
  if (path.length === 0) return 'the body';
  const described = path
    .map((segment) =>
      typeof segment === 'number'
        ? String(segment)
        : /^[A-Za-z_$][\w$]*$/.test(segment)
          ? shorten(segment)
          : quote(segment),
    )
    .join('.');
  return described.length > 120 ? `…${described.slice(-119)}` : described;
}

/** JSON.stringify escapes lone surrogates and control characters, so the message stays valid. */
function quote(text: string): string {
  return shorten(JSON.stringify(text));
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

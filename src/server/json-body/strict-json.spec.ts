import fc from 'fast-check';
import { strictJsonProblems } from './strict-json';

describe('strictJsonProblems', () => {
  it.each([
    ['{"id":9007199254740993}', 'id: the integer 9007199254740993 is beyond ±(2^53−1)'],
    ['{"big":-12345678901234567890}', 'big: the integer -12345678901234567890 is beyond'],
    ['[1e400]', '0: the number 1e400 is too large to be stored'],
    ['{"x":-1.5e308000}', 'x: the number -1.5e308000 is too large'],
    ['{"x":1e-400}', 'x: the number 1e-400 is too small to be stored (it would become 0)'],
    ['{"x":0.000001e-330}', 'x: the number 0.000001e-330 is too small'],
    ['{"a":1,"a":2}', 'the body: duplicate key "a"'],
    ['{"e":[{"k":{},"k":{}}]}', 'e.0: duplicate key "k"'],
    ['{"a":1,"\\u0061":2}', 'the body: duplicate key "a"'],
    ['{"type":"t\\ud800"}', 'type: the string has a lone surrogate'],
    ['["\\udc00x"]', '0: the string has a lone surrogate'],
    ['{"k\\ud800":1}', 'the body: the key "k\\ud800" has a lone surrogate'],
  ])('refuses %s', (text, problem) => {
    expect(strictJsonProblems(text)).toEqual([expect.stringContaining(problem)]);
  });

  it('names the path of every problem, quoting keys that are not plain names', () => {
    expect(strictJsonProblems('{"a b":{"\\ud800":[0,"\\udfff"]}}')).toEqual([
      '"a b": the key "\\ud800" has a lone surrogate',
      '"a b"."\\ud800".1: the string has a lone surrogate',
    ]);
  });

  it.each([
    '{"max":9007199254740991,"min":-9007199254740991}',
    '[0, -0, 0.0, 0e10, 0.000e-999, 1e308, 1.7976931348623157e308, 5e-324]',
    // Decimals round to the nearest double, as JSON.parse does: accepted.
    '[0.1, 1.00000000000000000001, 12345678901234567890.5, 1e20]',
    '{"pair":"\\ud83d\\ude00","raw":"😀","a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}',
    '"text"',
    'null',
  ])('accepts %s', (text) => {
    expect(strictJsonProblems(text)).toEqual([]);
  });

  it('lists the first ten problems and says there are more', () => {
    const text = `[${Array.from({ length: 50 }, () => '1e999').join(',')}]`;
    const problems = strictJsonProblems(text);
    expect(problems).toHaveLength(11);
    expect(problems[10]).toBe('(more problems not listed)');
  });

  it('shortens long literals and keys in its messages', () => {
    const [problem] = strictJsonProblems(`{"${'k'.repeat(500)}":1${'0'.repeat(1000)}}`);
    expect(problem.length).toBeLessThan(200);
  });

  it('accepts every JSON text JSON.stringify writes that parses back the same', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        fc.pre(!/\d{16,}|e[+-]?\d/i.test(text)); // big or exponent numbers may round
        expect(strictJsonProblems(text)).toEqual([]);
      }),
    );
  });
});

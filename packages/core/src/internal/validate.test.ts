import { expect, describe as group, it } from 'vitest';
import {
  assertCount,
  assertFunction,
  assertLimit,
  assertOptions,
  assertPositiveFinite,
  assertPositiveInteger,
  assertSignal,
  assertTimeout,
  describe,
} from './validate.js';

group('describe', () => {
  it.each([
    ['abc', '"abc"'],
    [12n, '12n'],
    [() => 1, 'a function'],
    [null, 'null'],
    [[1], 'an array'],
    [{}, 'an object'],
    [undefined, 'undefined'],
    [Number.NaN, 'NaN'],
    [-1.5, '-1.5'],
    [true, 'true'],
  ])('%s -> %s', (value, text) => {
    expect(describe(value)).toBe(text);
  });
});

// Each validator: values it accepts, and values it refuses with the error class and a message
// that names the argument and shows the value.
const cases: {
  fn: (name: string, value: unknown) => void;
  ok: unknown[];
  bad: [unknown, typeof TypeError | typeof RangeError, string][];
}[] = [
  {
    fn: assertCount,
    ok: [0, 1, 1000],
    bad: [
      [-1, RangeError, '-1'],
      [1.5, RangeError, '1.5'],
      [Number.NaN, RangeError, 'NaN'],
      [Number.POSITIVE_INFINITY, RangeError, 'Infinity'],
      ['3', TypeError, '"3"'],
      [undefined, TypeError, 'undefined'],
    ],
  },
  {
    fn: assertPositiveInteger,
    ok: [1, 7],
    bad: [
      [0, RangeError, '0'],
      [2.5, RangeError, '2.5'],
      [-3, RangeError, '-3'],
      [Number.POSITIVE_INFINITY, RangeError, 'Infinity'],
      [null, TypeError, 'null'],
    ],
  },
  {
    fn: assertLimit,
    ok: [0, 10, Number.POSITIVE_INFINITY],
    bad: [
      [-1, RangeError, '-1'],
      [0.5, RangeError, '0.5'],
      [Number.NEGATIVE_INFINITY, RangeError, '-Infinity'],
      [Number.NaN, RangeError, 'NaN'],
      [{}, TypeError, 'an object'],
    ],
  },
  {
    fn: assertPositiveFinite,
    ok: [0.001, 1, 1e9],
    bad: [
      [0, RangeError, '0'],
      [-1, RangeError, '-1'],
      [Number.POSITIVE_INFINITY, RangeError, 'Infinity'],
      [Number.NaN, RangeError, 'NaN'],
      ['1', TypeError, '"1"'],
    ],
  },
  {
    fn: assertTimeout,
    ok: [0, 0.5, 1000],
    bad: [
      [-1, RangeError, '-1'],
      [Number.POSITIVE_INFINITY, RangeError, 'Infinity'],
      [Number.NaN, RangeError, 'NaN'],
      [[], TypeError, 'an array'],
    ],
  },
  {
    fn: assertFunction,
    ok: [() => {}, async () => {}, class {}],
    bad: [
      [1, TypeError, '1'],
      [{}, TypeError, 'an object'],
      [undefined, TypeError, 'undefined'],
    ],
  },
  {
    fn: assertSignal,
    ok: [new AbortController().signal, AbortSignal.abort()],
    bad: [
      [{}, TypeError, 'an object'],
      [{ aborted: false }, TypeError, 'an object'],
      [null, TypeError, 'null'],
      ['signal', TypeError, '"signal"'],
    ],
  },
  {
    fn: assertOptions,
    ok: [undefined, {}, { a: 1 }],
    bad: [
      [null, TypeError, 'null'],
      [5, TypeError, '5'],
      ['x', TypeError, '"x"'],
    ],
  },
];

group('validators', () => {
  for (const { fn, ok, bad } of cases) {
    group(fn.name, () => {
      it.each(ok.map((v) => [v]))('accepts %s', (value) => {
        expect(() => fn('options.thing', value)).not.toThrow();
      });
      it.each(bad)('refuses %s', (value, type, shown) => {
        let error: unknown;
        try {
          fn('options.thing', value);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(type);
        const message = (error as Error).message;
        expect(message).toContain('`options.thing`');
        expect(message).toContain(`got ${shown}`);
        expect(message).toMatch(/^Expected /);
      });
    });
  }
});

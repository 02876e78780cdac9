// Small helpers shared by the limit algorithms (aimd, gradient2, vegas).

import { describe } from './validate.js';

/** A number option: `fallback` when undefined, else checked by `valid` (whose text names the range). */
export function numberOption(
  name: string,
  value: unknown,
  fallback: number,
  valid: (value: number) => boolean,
  range: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be a number, got ${describe(value)} (${typeof value})`,
    );
  }
  if (!valid(value))
    throw new RangeError(`Expected \`${name}\` to be ${range}, got ${describe(value)}`);
  return value;
}

/** A number or a function of the limit: constants become functions. */
export function ofLimit(
  name: string,
  value: unknown,
  fallback: (limit: number) => number,
): (limit: number) => number {
  if (value === undefined) return fallback;
  if (typeof value === 'function') return value as (limit: number) => number;
  const constant = numberOption(name, value, 0, Number.isFinite, 'a finite number or a function');
  return () => constant;
}

/**
 * Netflix's Log10RootIntFunction: max(1, floor(log10(limit))). (Its comment says "sqrt", its code
 * takes log10 at every size: 3 from 1000 to 9999.) Vegas scales its thresholds and steps with it.
 */
export function log10Root(limit: number): number {
  return Math.max(1, Math.floor(Math.log10(Math.max(Math.floor(limit), 1))));
}

/**
 * An exponential moving average over about `window` samples (factor 2 / (window + 1)), the plain
 * mean of the first `warmup` samples: Netflix's ExpAvgMeasurement.
 */
export class MovingAverage {
  value = 0;
  count = 0;
  readonly #factor: number;
  readonly #warmup: number;

  constructor(window: number, warmup: number) {
    this.#factor = 2 / (window + 1);
    this.#warmup = warmup;
  }

  add(sample: number): number {
    if (this.count < this.#warmup) {
      this.count++;
      this.value += (sample - this.value) / this.count;
    } else {
      this.value += (sample - this.value) * this.#factor;
    }
    return this.value;
  }
}

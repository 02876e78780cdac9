// Option checks when the module or a decorator is set up. Messages name the option, what was
// expected and what was received, like core's (core's helpers are internal to core).

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

export function assertOptionsObject(name: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an options object, got ${describe(value)}`);
  }
}

function requireNumber(name: string, value: unknown, expected: string): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be ${expected}, got ${describe(value)} (${typeof value})`,
    );
  }
}

/** An integer >= 0 (a limit; 0 makes every request wait). */
export function assertCount(name: string, value: unknown): asserts value is number {
  const expected = 'an integer >= 0';
  requireNumber(name, value, expected);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
  }
}

/** An integer >= 0, or Infinity (a queue length such as `maxWaiting`). */
export function assertQueueLength(name: string, value: unknown): asserts value is number {
  const expected = 'an integer >= 0 or Infinity';
  requireNumber(name, value, expected);
  if (value !== Number.POSITIVE_INFINITY && (!Number.isInteger(value) || value < 0)) {
    throw new RangeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
  }
}

/** A finite number >= 0 (a timeout in ms). */
export function assertTimeout(name: string, value: unknown): asserts value is number {
  const expected = 'a finite number of milliseconds >= 0';
  requireNumber(name, value, expected);
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
  }
}

/** A finite number > 0 (a rate, seconds). */
export function assertPositiveFinite(name: string, value: unknown): asserts value is number {
  const expected = 'a finite number > 0';
  requireNumber(name, value, expected);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
  }
}

/** An integer >= 1 (a bucket capacity). */
export function assertPositiveInteger(name: string, value: unknown): asserts value is number {
  const expected = 'a positive integer';
  requireNumber(name, value, expected);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
  }
}

export function assertOptionalFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(
      `Expected \`${name}\` to be a function, got ${describe(value)} (${typeof value})`,
    );
  }
}

export function assertOptionalBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(
      `Expected \`${name}\` to be a boolean, got ${describe(value)} (${typeof value})`,
    );
  }
}

/** A limiter name or RateLimit policy name: a token of letters, digits and `_-.`. */
export function assertName(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be a non-empty string of letters, digits, "_", "-" or ".", got ${describe(value)}`,
    );
  }
}

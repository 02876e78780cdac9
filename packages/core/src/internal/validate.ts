// Argument checks shared by every primitive. Messages name the argument and the value received.

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

function requireNumber(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be a number, got ${describe(value)} (${typeof value})`,
    );
  }
}

/** An integer >= 0 (a capacity; 0 is allowed: everything waits until resized). */
export function assertCount(name: string, value: unknown): asserts value is number {
  requireNumber(name, value);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be an integer >= 0, got ${describe(value)}`);
  }
}

/** An integer >= 1 (a weight, a token count). */
export function assertPositiveInteger(name: string, value: unknown): asserts value is number {
  requireNumber(name, value);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${describe(value)}`);
  }
}

/** An integer >= 0, or Infinity (a queue length such as `maxWaiting`). */
export function assertLimit(name: string, value: unknown): asserts value is number {
  requireNumber(name, value);
  if (value !== Number.POSITIVE_INFINITY && (!Number.isInteger(value) || value < 0)) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer >= 0 or Infinity, got ${describe(value)}`,
    );
  }
}

/** A finite number > 0 (a rate). */
export function assertPositiveFinite(name: string, value: unknown): asserts value is number {
  requireNumber(name, value);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Expected \`${name}\` to be a finite number > 0, got ${describe(value)}`);
  }
}

/** A finite number >= 0 (a timeout in ms). */
export function assertTimeout(name: string, value: unknown): asserts value is number {
  requireNumber(name, value);
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be a finite number >= 0, got ${describe(value)}`);
  }
}

export function assertFunction(
  name: string,
  value: unknown,
): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') {
    throw new TypeError(
      `Expected \`${name}\` to be a function, got ${describe(value)} (${typeof value})`,
    );
  }
}

export function assertSignal(name: string, value: unknown): asserts value is AbortSignal {
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as AbortSignal).aborted !== 'boolean' ||
    typeof (value as AbortSignal).addEventListener !== 'function'
  ) {
    throw new TypeError(`Expected \`${name}\` to be an AbortSignal, got ${describe(value)}`);
  }
}

/** Options objects: undefined is fine, anything but a plain object is not. */
export function assertOptions(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describe(value)}`);
  }
}

// Option checks run once, when the middleware is created, so a typo fails at startup rather
// than on the first request. Messages name the factory, the option and the value received.

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

export function assertOptionsObject(where: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${where}: expected an options object, got ${describe(value)}`);
  }
}

function requireNumber(where: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `${where}: expected \`${name}\` to be a number, got ${describe(value)} (${typeof value})`,
    );
  }
}

/** An integer >= 1 (a limit, a capacity). */
export function assertPositiveInteger(where: string, name: string, value: unknown): void {
  requireNumber(where, name, value);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `${where}: expected \`${name}\` to be a positive integer, got ${describe(value)}`,
    );
  }
}

/** An integer >= 0, or Infinity (a queue length). */
export function assertQueueLength(where: string, name: string, value: unknown): void {
  requireNumber(where, name, value);
  if (value !== Number.POSITIVE_INFINITY && (!Number.isInteger(value) || value < 0)) {
    throw new RangeError(
      `${where}: expected \`${name}\` to be an integer >= 0 or Infinity, got ${describe(value)}`,
    );
  }
}

/** A finite number >= 0 (a timeout in ms). */
export function assertNonNegativeFinite(where: string, name: string, value: unknown): void {
  requireNumber(where, name, value);
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `${where}: expected \`${name}\` to be a finite number >= 0, got ${describe(value)}`,
    );
  }
}

/** A finite number > 0 (a rate, a number of seconds). */
export function assertPositiveFinite(where: string, name: string, value: unknown): void {
  requireNumber(where, name, value);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `${where}: expected \`${name}\` to be a finite number > 0, got ${describe(value)}`,
    );
  }
}

export function assertOptionalFunction(where: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(
      `${where}: expected \`${name}\` to be a function, got ${describe(value)} (${typeof value})`,
    );
  }
}

export function assertOptionalBoolean(where: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(
      `${where}: expected \`${name}\` to be a boolean, got ${describe(value)} (${typeof value})`,
    );
  }
}

/** A policy name for the RateLimit headers: a token of letters, digits and `_-.`. */
export function assertPolicyName(where: string, name: string, value: unknown): void {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(value)) {
    throw new TypeError(
      `${where}: expected \`${name}\` to be a non-empty string of letters, digits, "_", "-" or ".", got ${describe(value)}`,
    );
  }
}

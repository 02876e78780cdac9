// Option checks; messages name the option, what was expected and what was received.

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

export function assertObject(name: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describe(value)}`);
  }
}

/** A name inside a key: non-empty, and no `{` or `}` (they would move the Cluster hash tag). */
export function assertKeyPart(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || /[{}]/.test(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be a non-empty string without "{" or "}", got ${describe(value)}`,
    );
  }
}

export function assertPositiveFinite(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new (typeof value === 'number' ? RangeError : TypeError)(
      `Expected \`${name}\` to be a finite number > 0, got ${describe(value)}`,
    );
  }
}

export function assertNonNegativeFinite(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new (typeof value === 'number' ? RangeError : TypeError)(
      `Expected \`${name}\` to be a finite number >= 0, got ${describe(value)}`,
    );
  }
}

export function assertPositiveInteger(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new (typeof value === 'number' ? RangeError : TypeError)(
      `Expected \`${name}\` to be a positive integer, got ${describe(value)}`,
    );
  }
}

export function assertOneOf<T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
): asserts value is T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(
      `Expected \`${name}\` to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`,
    );
  }
}

export function assertFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  }
}

/** `signal` (an AbortSignal) and `timeout` (finite, >= 0) of a wait, each optional. */
export function assertWaitOptions(signal: unknown, timeout: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describe(signal)}`);
  }
  if (
    timeout !== undefined &&
    (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0)
  ) {
    throw new (typeof timeout === 'number' ? RangeError : TypeError)(
      `Expected \`timeout\` to be a finite number >= 0, got ${describe(timeout)}`,
    );
  }
}

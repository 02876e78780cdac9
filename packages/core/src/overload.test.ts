import { describe, expect, it } from 'vitest';
import { ClosedError, TimeoutError } from './errors.js';
import { isOverload } from './overload.js';

describe('isOverload', () => {
  it('recognises timeouts and errors marked overload: true', () => {
    expect(isOverload(new TimeoutError(10))).toBe(true);
    expect(isOverload(new DOMException('late', 'TimeoutError'))).toBe(true);
    expect(isOverload(Object.assign(new Error('socket'), { code: 'ETIMEDOUT' }))).toBe(true);
    expect(isOverload(Object.assign(new Error('503'), { overload: true }))).toBe(true);
  });

  it('says no to anything else', () => {
    expect(isOverload(new Error('x'))).toBe(false);
    expect(isOverload(new ClosedError())).toBe(false);
    expect(isOverload(Object.assign(new Error('x'), { overload: 'yes' }))).toBe(false);
    expect(isOverload(undefined)).toBe(false);
    expect(isOverload('TIMEOUT')).toBe(false);
  });
});

// Test support: fails the test file if anything it ran ended up as an `unhandledRejection`.
import { afterAll, beforeAll, expect } from 'vitest';

export function expectNoUnhandledRejections(): void {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', listener);
  });
  afterAll(() => {
    process.off('unhandledRejection', listener);
    expect(seen).toEqual([]);
  });
}

// Test support (imported by tests only, never by the library): collects every
// `unhandledRejection` the process reports while a test file runs.
import { afterAll, beforeAll } from 'vitest';

export function trackUnhandledRejections(): unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', listener);
  });
  afterAll(() => {
    process.off('unhandledRejection', listener);
  });
  return seen;
}

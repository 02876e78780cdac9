import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../errors.js';
import { Semaphore } from '../semaphore.js';
import type { AdaptivePermit } from '../types.js';
import {
  classifyOutcome,
  isAdaptivePermit,
  type RequestOutcome,
  returnUnused,
  settlePermit,
} from './index.js';

/** A permit that records how it was given back. */
function recordingPermit(): AdaptivePermit & { ends: string[] } {
  const ends: string[] = [];
  let released = false;
  const end = (how: string) => () => {
    ends.push(how);
    released = true;
  };
  return {
    ends,
    weight: 1,
    get released() {
      return released;
    },
    release: end('release'),
    drop: end('drop'),
    ignore: end('ignore'),
    [Symbol.dispose]: end('release'),
  };
}

const ok: RequestOutcome = { status: 200, clientLeft: false };

describe('classifyOutcome', () => {
  it.each<[string, RequestOutcome, string]>([
    ['200', ok, 'success'],
    ['404', { status: 404, clientLeft: false }, 'success'],
    [
      '500 with an ordinary error',
      { status: 500, error: new Error('x'), clientLeft: false },
      'success',
    ],
    ['503', { status: 503, clientLeft: false }, 'drop'],
    ['504', { status: 504, clientLeft: false }, 'drop'],
    [
      'a TimeoutError, whatever the status',
      { status: 500, error: new TimeoutError(5), clientLeft: false },
      'drop',
    ],
    [
      'any object with code TIMEOUT (another copy of core)',
      { status: 500, error: { code: 'TIMEOUT' }, clientLeft: false },
      'drop',
    ],
    ['the client left', { status: 200, clientLeft: true }, 'ignore'],
    ['the client left during a 503', { status: 503, clientLeft: true }, 'ignore'],
  ])('%s -> %s', (_label, outcome, expected) => {
    expect(classifyOutcome(outcome)).toBe(expected);
  });
});

describe('settlePermit', () => {
  it('gives an adaptive permit back by its class', () => {
    for (const [outcome, how] of [
      [ok, 'release'],
      [{ status: 503, clientLeft: false }, 'drop'],
      [{ status: 200, clientLeft: true }, 'ignore'],
    ] as const) {
      const permit = recordingPermit();
      settlePermit(permit, outcome);
      expect(permit.ends).toEqual([how]);
    }
  });

  it('a classify of the caller overrides, and sees the outcome', () => {
    const permit = recordingPermit();
    const seen: RequestOutcome[] = [];
    settlePermit(permit, { status: 429, clientLeft: false }, (outcome) => {
      seen.push(outcome);
      return outcome.status === 429 ? 'drop' : 'success';
    });
    expect(seen).toEqual([{ status: 429, clientLeft: false }]);
    expect(permit.ends).toEqual(['drop']);
  });

  it('a classify that throws or answers nonsense still returns the permit (ignore), and reports it', () => {
    const reported: unknown[] = [];
    const saved = (globalThis as { reportError?: unknown }).reportError;
    (globalThis as { reportError?: unknown }).reportError = (error: unknown) =>
      reported.push(error);
    try {
      const thrower = recordingPermit();
      // No throw: adapters call this from a 'close' listener, where it would crash the server.
      settlePermit(thrower, ok, () => {
        throw new Error('bug');
      });
      expect(thrower.ends).toEqual(['ignore']);
      const nonsense = recordingPermit();
      settlePermit(nonsense, ok, () => 'maybe' as never);
      expect(nonsense.ends).toEqual(['ignore']);
      expect(reported.map((e) => (e as Error).message)).toEqual([
        'bug',
        'Expected `classify` to return "success", "drop" or "ignore", got "maybe"',
      ]);
    } finally {
      (globalThis as { reportError?: unknown }).reportError = saved;
    }
  });

  it('a plain permit is released, classify never called', () => {
    const sem = new Semaphore(1);
    const permit = sem.tryAcquire()!;
    expect(isAdaptivePermit(permit)).toBe(false);
    settlePermit(permit, { status: 503, clientLeft: false }, () => {
      throw new Error('not called');
    });
    expect(sem.available).toBe(1);
  });

  it('returnUnused ignores an adaptive permit and releases a plain one', () => {
    const adaptive = recordingPermit();
    expect(isAdaptivePermit(adaptive)).toBe(true);
    returnUnused(adaptive);
    expect(adaptive.ends).toEqual(['ignore']);
    const sem = new Semaphore(1);
    returnUnused(sem.tryAcquire()!);
    expect(sem.available).toBe(1);
  });
});

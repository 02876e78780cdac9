import { describe, expect, it } from 'vitest';
import { AdaptiveSemaphore } from './adaptive-semaphore.js';
import { recordEvents } from './internal/record-events.js';
import type { LimitAlgorithm } from './types.js';

// AdaptiveSemaphore events: the Semaphore family's, timed by the `now` option, plus `limit`.

/** Answers the limits the test scripts, one per sample. */
function scripted(limits: number[]): LimitAlgorithm {
  return { update: (_sample, limit) => limits.shift() ?? limit };
}

describe('AdaptiveSemaphore events', () => {
  it('grants, releases and waits are timed by `now`; a limit change comes before the grants it makes', async () => {
    let time = 0;
    const sem = new AdaptiveSemaphore({
      algorithm: scripted([3]),
      initialLimit: 1,
      now: () => time,
    });
    const { events } = recordEvents(sem);
    const first = await sem.acquire();
    const a = sem.acquire();
    const b = sem.acquire();
    time = 40;
    // The sample is taken first and grows the limit to 3: both waiters fit beside the holder,
    // so they are granted before its permit is even back.
    first.release();
    await a;
    await b;
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 1, waitedMs: 0 },
      { type: 'queued', weight: 1 },
      { type: 'queued', weight: 1 },
      { type: 'limit', limit: 3, previous: 1 },
      { type: 'acquired', weight: 1, waitedMs: 40 },
      { type: 'acquired', weight: 1, waitedMs: 40 },
      { type: 'released', weight: 1, heldMs: 40 },
    ]);
  });

  it('a shrink is reported and drop() and ignore() release like release()', async () => {
    let time = 0;
    const sem = new AdaptiveSemaphore({
      algorithm: scripted([2]),
      initialLimit: 4,
      now: () => time,
    });
    const { events, stop } = recordEvents(sem);
    const p1 = await sem.acquire();
    const p2 = await sem.acquire();
    time = 5;
    p1.drop(); // a sample: the limit falls to 2
    p2.ignore(); // no sample
    expect(events.slice(2)).toStrictEqual([
      { type: 'limit', limit: 2, previous: 4 },
      { type: 'released', weight: 1, heldMs: 5 },
      { type: 'released', weight: 1, heldMs: 5 },
    ]);
    stop();
    (await sem.acquire()).release();
    expect(events).toHaveLength(5);
  });

  it('refusals carry their reason', async () => {
    const sem = new AdaptiveSemaphore({ algorithm: scripted([]), initialLimit: 1, maxWaiting: 0 });
    const { events } = recordEvents(sem);
    await sem.acquire();
    await expect(sem.acquire()).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    sem.close();
    await expect(sem.acquire()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(
      events.filter((e) => e.type === 'rejected').map((e) => e.type === 'rejected' && e.reason),
    ).toEqual(['queue_full', 'closed']);
  });
});

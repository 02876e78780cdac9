import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordEvents } from './internal/record-events.js';
import { JobScheduler } from './job-scheduler.js';

// JobScheduler events: a job is one unit of weight; `acquired` is taking a run slot, `released`
// its settling. Times are exact: the fake clock (performance.now included) moves only when told.

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('JobScheduler events', () => {
  it('a job with a free slot: acquired (waitedMs 0), then released with its run time', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const { events } = recordEvents(scheduler);
    const done = gate();
    const job = await scheduler.spawn(() => done.promise);
    vi.advanceTimersByTime(40);
    done.open();
    await job.result();
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 1, waitedMs: 0 },
      { type: 'released', weight: 1, heldMs: 40 },
    ]);
  });

  it('a pending job: queued, then acquired with its time pending when the slot frees', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const { events } = recordEvents(scheduler);
    const first = gate();
    const a = await scheduler.spawn(() => first.promise);
    const b = await scheduler.spawn(() => 'b');
    expect(b.status).toBe('pending');
    vi.advanceTimersByTime(25);
    first.open();
    await a.result();
    await b.result();
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 1, waitedMs: 0 },
      { type: 'queued', weight: 1 },
      { type: 'released', weight: 1, heldMs: 25 },
      { type: 'acquired', weight: 1, waitedMs: 25 },
      { type: 'released', weight: 1, heldMs: 0 },
    ]);
  });

  it('spawns refused or given up: closed, aborted, queue_timeout (at once and after a wait)', async () => {
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 1 });
    const { events } = recordEvents(scheduler);
    const hold = gate();
    await scheduler.spawn(() => hold.promise); // runs
    await scheduler.spawn(() => undefined); // pending: the pending limit is reached
    await expect(scheduler.spawn(() => undefined, { timeout: 0 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    await expect(
      scheduler.spawn(() => undefined, { signal: AbortSignal.abort() }),
    ).rejects.toBeDefined();
    const waiting = scheduler.spawn(() => undefined, { timeout: 30 });
    const settled = expect(waiting).rejects.toMatchObject({ code: 'TIMEOUT' });
    await vi.advanceTimersByTimeAsync(30);
    await settled;
    const controller = new AbortController();
    const aborted = scheduler.spawn(() => undefined, { signal: controller.signal });
    const abortedSettled = expect(aborted).rejects.toBeDefined();
    vi.advanceTimersByTime(5);
    controller.abort();
    await abortedSettled;
    const closing = scheduler.spawn(() => undefined);
    const closingSettled = expect(closing).rejects.toMatchObject({ code: 'CLOSED' });
    vi.advanceTimersByTime(7);
    const closed = scheduler.close();
    await closingSettled;
    await expect(scheduler.spawn(() => undefined)).rejects.toMatchObject({ code: 'CLOSED' });
    const rejected = events.filter((e) => e.type === 'rejected');
    expect(rejected).toStrictEqual([
      { type: 'rejected', reason: 'queue_timeout', weight: 1, waitedMs: 0 },
      { type: 'rejected', reason: 'aborted', weight: 1, waitedMs: 0 },
      { type: 'rejected', reason: 'queue_timeout', weight: 1, waitedMs: 30 },
      { type: 'rejected', reason: 'aborted', weight: 1, waitedMs: 5 },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 7 },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 0 },
    ]);
    // Every wait that began was reported as queued: the pending job and the three waits.
    expect(events.filter((e) => e.type === 'queued')).toHaveLength(4);
    hold.open();
    await closed;
  });

  it('a cancelled pending job is rejected (aborted); the close timeout rejects as closed', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const { events } = recordEvents(scheduler);
    await scheduler.spawn(
      (signal) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const b = await scheduler.spawn(() => undefined);
    const c = await scheduler.spawn(() => undefined);
    vi.advanceTimersByTime(10);
    b.cancel();
    const closed = scheduler.close({ timeout: 20 });
    await vi.advanceTimersByTimeAsync(20);
    await closed;
    expect(b.status).toBe('cancelled');
    expect(c.status).toBe('cancelled');
    expect(events.filter((e) => e.type === 'rejected')).toStrictEqual([
      { type: 'rejected', reason: 'aborted', weight: 1, waitedMs: 10 },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 30 },
    ]);
    // The running job, aborted at the timeout, settles and gives its slot back.
    expect(events.at(-1)).toStrictEqual({ type: 'released', weight: 1, heldMs: 30 });
  });

  it('an unsubscribed listener hears nothing more', async () => {
    const scheduler = new JobScheduler({ limit: 2 });
    const { events, stop } = recordEvents(scheduler);
    await (await scheduler.spawn(() => 1)).result();
    stop();
    stop();
    await (await scheduler.spawn(() => 2)).result();
    expect(events).toHaveLength(2);
  });
});

import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClosedError, TimeoutError } from './errors.js';
import { trackUnhandledRejections } from './internal/unhandled-rejections.test-support.js';
import type { Job } from './job.js';
import { JobScheduler } from './job-scheduler.js';

// Cases follow aiojobs' tests/test_scheduler.py (limit, pending limit, the hang of aiojobs
// #97/#98 fixed by #135, close while pending, wait then close, exceptions routed once) and add
// what a JS scheduler must also prove: no unhandledRejection, async context, cancel semantics.

function gate<T = void>() {
  let open!: (value: T) => void;
  let fail!: (reason: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Lets every queued microtask (and the ones they queue) run. */
async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** One macrotask: the scheduler's grace period for result() to claim an error. */
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function settledState(promise: Promise<unknown>) {
  const marker = Symbol('pending');
  const result = await Promise.race([
    promise.then(
      (value) => ({ status: 'fulfilled' as const, value }),
      (reason: unknown) => ({ status: 'rejected' as const, reason }),
    ),
    flush().then(() => marker),
  ]);
  return result === marker ? { status: 'pending' as const } : result;
}

const unhandled = trackUnhandledRejections();
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('new JobScheduler(options): validation names the option and the value', () => {
  it.each([
    [{ limit: 0 }, RangeError, 'Expected `limit` to be a positive integer or Infinity, got 0'],
    [{ limit: 1.5 }, RangeError, 'got 1.5'],
    [{ limit: Number.NaN }, RangeError, 'got NaN'],
    [{ limit: '2' }, TypeError, 'Expected `limit` to be a number, got "2" (string)'],
    [{ limit: 1, pendingLimit: -1 }, RangeError, '`pendingLimit` to be an integer >= 0'],
    [{ limit: 1, onError: 1 }, TypeError, 'Expected `onError` to be a function, got 1'],
  ])('%o throws', (options, type, message) => {
    expect(() => new JobScheduler(options as never)).toThrow(type);
    expect(() => new JobScheduler(options as never)).toThrow(message);
  });

  it('requires an options object', () => {
    expect(() => new JobScheduler(undefined as never)).toThrow(
      'Expected `options` to be an object with `limit`, got undefined',
    );
  });

  it('accepts Infinity and defaults pendingLimit to 10 000 (as aiojobs)', () => {
    const scheduler = new JobScheduler({ limit: Number.POSITIVE_INFINITY });
    expect(scheduler.limit).toBe(Number.POSITIVE_INFINITY);
    expect(scheduler.pendingLimit).toBe(10_000);
    expect(new JobScheduler({ limit: 1, pendingLimit: 0 }).pendingLimit).toBe(0);
  });

  it('spawn, wait and close reject bad arguments without changing state', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    await expect(scheduler.spawn(1 as never)).rejects.toThrow(
      'Expected `fn` to be a function, got 1 (number)',
    );
    await expect(scheduler.spawn(() => 1, { timeout: -1 })).rejects.toThrow(
      'Expected `options.timeout` to be a finite number >= 0, got -1',
    );
    await expect(scheduler.spawn(() => 1, { signal: {} as never })).rejects.toThrow(
      'Expected `options.signal` to be an AbortSignal',
    );
    await expect(scheduler.wait({ timeout: Number.NaN })).rejects.toThrow(RangeError);
    await expect(scheduler.close({ timeout: -5 })).rejects.toThrow(
      'Expected `options.timeout` to be a finite number >= 0, got -5',
    );
    expect(scheduler.closed).toBe(false);
    expect(scheduler.stats().spawned).toBe(0);
  });
});

describe('limit (aiojobs test_scheduler_concurrency_limit)', () => {
  it('runs at most `limit` jobs; the others wait as pending and start in FIFO order', async () => {
    const scheduler = new JobScheduler({ limit: 2 });
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const jobs: Job<number>[] = [];
    for (const [i, g] of gates.entries()) {
      jobs.push(
        await scheduler.spawn(async () => {
          started.push(i);
          await g.promise;
          return i;
        }),
      );
    }
    expect(started).toEqual([0, 1]);
    expect([scheduler.active, scheduler.pending]).toEqual([2, 2]);
    expect(jobs.map((j) => j.status)).toEqual(['active', 'active', 'pending', 'pending']);

    gates[1]!.open();
    await expect(jobs[1]!.result()).resolves.toBe(1);
    await flush();
    expect(started).toEqual([0, 1, 2]);
    expect([scheduler.active, scheduler.pending]).toEqual([2, 1]);
    expect(jobs[2]!.status).toBe('active');

    for (const g of gates) g.open();
    await scheduler.wait();
    expect(jobs.map((j) => j.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(scheduler.stats()).toMatchObject({ active: 0, pending: 0, maxActive: 2, maxPending: 2 });
  });

  it('a job with a free slot takes it at the call and starts a microtask later (never sometimes synchronous)', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const seen: string[] = [];
    const spawned = scheduler.spawn(() => {
      seen.push('job');
    });
    expect(scheduler.active).toBe(1);
    seen.push('after spawn');
    const job = await spawned;
    expect(seen).toEqual(['after spawn', 'job']);
    await job.result();
  });

  it('a function that throws synchronously is a rejected job, not a rejected spawn', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const boom = new Error('sync');
    const job = await scheduler.spawn(() => {
      throw boom;
    });
    await expect(job.result()).rejects.toBe(boom);
    expect(job.status).toBe('rejected');
  });

  it('with limit Infinity nothing is ever pending (aiojobs test_concurrency_disabled)', async () => {
    const scheduler = new JobScheduler({ limit: Number.POSITIVE_INFINITY, pendingLimit: 0 });
    const g = gate();
    for (let i = 0; i < 50; i++) await scheduler.spawn(() => g.promise);
    expect([scheduler.active, scheduler.pending]).toEqual([50, 0]);
    g.open();
    await scheduler.wait();
    expect(scheduler.active).toBe(0);
  });
});

describe('pending limit: spawn waits (backpressure)', () => {
  it('pendingLimit Infinity queues without bound (aiojobs test_pending_queue_infinite)', async () => {
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: Number.POSITIVE_INFINITY });
    const g = gate();
    for (let i = 0; i < 3; i++) await scheduler.spawn(() => g.promise);
    expect([scheduler.active, scheduler.pending]).toEqual([1, 2]);
    g.open();
    await scheduler.wait();
  });

  it('a spawn past the pending limit waits and times out with the counts unchanged (aiojobs test_pending_queue_limit_wait)', async () => {
    vi.useFakeTimers();
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 1 });
    const g = gate();
    await scheduler.spawn(() => g.promise);
    await scheduler.spawn(() => g.promise);
    expect([scheduler.active, scheduler.pending]).toEqual([1, 1]);
    let ran = false;
    const third = scheduler.spawn(
      () => {
        ran = true;
      },
      { timeout: 1000 },
    );
    expect(scheduler.stats().waiting).toBe(1);
    const outcome = expect(third).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(1000);
    await outcome;
    expect([scheduler.active, scheduler.pending]).toEqual([1, 1]);
    expect(scheduler.stats()).toMatchObject({ waiting: 0, timedOut: 1 });
    expect(vi.getTimerCount()).toBe(0);
    g.open();
    await scheduler.wait();
    expect(ran).toBe(false);
  });

  it('timeout 0 means "only if accepted now"', async () => {
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 0 });
    const g = gate();
    await scheduler.spawn(() => g.promise, { timeout: 0 });
    await expect(scheduler.spawn(() => 1, { timeout: 0 })).rejects.toThrow(
      'JobScheduler spawn timed out after 0 ms',
    );
    g.open();
    await scheduler.wait();
  });

  it('spawns awaited in a loop do not hang at the pending limit (aiojobs #97/#98, fixed by #135)', async () => {
    // aiojobs counted a spawn waiting for a pending slot among its jobs, so active_count read
    // above the limit, the done-callback started nothing, and every spawn hung. Here a spawn
    // that waits is not a job yet: it counts in `waiting` only.
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 1 });
    const gates = [gate(), gate(), gate()];
    const jobs: Job<void>[] = [];
    const loop = (async () => {
      for (const g of gates) jobs.push(await scheduler.spawn(() => g.promise));
    })();
    await flush();
    expect(scheduler.stats()).toMatchObject({ active: 1, pending: 1, waiting: 1 });
    for (const g of gates) g.open();
    await loop;
    for (const job of jobs) await job.result();
    await scheduler.wait();
    expect(scheduler.stats()).toMatchObject({
      active: 0,
      pending: 0,
      waiting: 0,
      maxActive: 1,
      spawned: 3,
      fulfilled: 3,
    });
  });

  it('the aiojobs #98 script: 200 jobs at once, limit 10, pending 100, never above either, all done', async () => {
    vi.useFakeTimers();
    const scheduler = new JobScheduler({ limit: 10, pendingLimit: 100 });
    let running = 0;
    let most = 0;
    let done = 0;
    const spawns = Array.from({ length: 200 }, (_, i) =>
      scheduler.spawn(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5 + (i % 7)));
        running--;
        done++;
      }),
    );
    expect(scheduler.stats()).toMatchObject({ active: 10, pending: 100, waiting: 90 });
    while (done < 200) {
      await vi.advanceTimersByTimeAsync(5);
      expect(scheduler.active).toBeLessThanOrEqual(10);
      expect(scheduler.pending).toBeLessThanOrEqual(100);
    }
    await Promise.all(spawns);
    await scheduler.wait();
    expect(most).toBe(10);
    expect(scheduler.stats()).toMatchObject({ spawned: 200, fulfilled: 200, maxPending: 100 });
  });

  it('an aborted waiting spawn leaves at once; its job never runs and the others proceed', async () => {
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 1 });
    const g = gate();
    await scheduler.spawn(() => g.promise);
    await scheduler.spawn(() => g.promise);
    const controller = new AbortController();
    let ran = false;
    const aborted = scheduler.spawn(
      () => {
        ran = true;
      },
      { signal: controller.signal },
    );
    const next = scheduler.spawn(() => 'next');
    expect(scheduler.stats().waiting).toBe(2);
    const reason = new Error('client left');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(scheduler.stats()).toMatchObject({ waiting: 1, aborted: 1 });
    g.open();
    const job = await next;
    await expect(job.result()).resolves.toBe('next');
    await scheduler.wait();
    expect(ran).toBe(false);
  });

  it('a slot freed and the waiting spawn aborted in the same tick: the grant wins, the abort changes nothing', async () => {
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 1 });
    const g = gate();
    await scheduler.spawn(() => g.promise);
    const pending = await scheduler.spawn(() => 'b');
    const controller = new AbortController();
    const waiting = scheduler.spawn(() => 'c', { signal: controller.signal });
    pending.cancel(); // frees the pending slot synchronously: `waiting` is accepted here
    controller.abort(new Error('too late'));
    const job = await waiting;
    expect(job.status).toBe('pending');
    expect(scheduler.stats()).toMatchObject({ aborted: 0, waiting: 0, pending: 1 });
    g.open();
    await expect(job.result()).resolves.toBe('c');
  });

  it('the spawn aborted first, then the slot freed in the same tick: the next waiter gets it', async () => {
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 1 });
    const g = gate();
    await scheduler.spawn(() => g.promise);
    const pending = await scheduler.spawn(() => 'b');
    const controller = new AbortController();
    const first = scheduler.spawn(() => 'c', { signal: controller.signal });
    const second = scheduler.spawn(() => 'd');
    const reason = new Error('left');
    controller.abort(reason);
    pending.cancel();
    await expect(first).rejects.toBe(reason);
    const job = await second;
    g.open();
    await expect(job.result()).resolves.toBe('d');
    expect(scheduler.stats()).toMatchObject({ aborted: 1, spawned: 3, cancelled: 1, fulfilled: 2 });
  });

  it('an already-aborted signal rejects without touching state, even with free slots', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const reason = new Error('gone');
    let ran = false;
    await expect(
      scheduler.spawn(
        () => {
          ran = true;
        },
        { signal: AbortSignal.abort(reason) },
      ),
    ).rejects.toBe(reason);
    expect(ran).toBe(false);
    expect(scheduler.stats()).toMatchObject({ spawned: 0, active: 0, aborted: 0 });
  });

  it('pendingLimit 0: a spawn waits until its job can start', async () => {
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 0 });
    const g = gate();
    const first = await scheduler.spawn(() => g.promise);
    const second = scheduler.spawn(() => 2);
    expect(await settledState(second)).toEqual({ status: 'pending' });
    expect(scheduler.stats()).toMatchObject({ active: 1, pending: 0, waiting: 1 });
    g.open();
    await first.result();
    const job = await second;
    await expect(job.result()).resolves.toBe(2);
  });
});

describe('close()', () => {
  it('while jobs are pending: refuses new spawns, lets active and pending jobs finish (aiojobs test_close_jobs)', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const gates = [gate(), gate(), gate()];
    const jobs = [];
    for (const g of gates) jobs.push(await scheduler.spawn(() => g.promise));
    const closing = scheduler.close();
    expect(scheduler.closed).toBe(true);
    await expect(scheduler.spawn(() => 1)).rejects.toBeInstanceOf(ClosedError);
    expect(await settledState(closing)).toEqual({ status: 'pending' });
    for (const g of gates) g.open();
    await closing;
    expect(jobs.map((j) => j.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(scheduler.stats()).toMatchObject({ active: 0, pending: 0 });
  });

  it('rejects the spawns still waiting for a slot with ClosedError (they were never accepted)', async () => {
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 0 });
    const g = gate();
    await scheduler.spawn(() => g.promise);
    const waiting = [scheduler.spawn(() => 1), scheduler.spawn(() => 2)];
    const closing = scheduler.close();
    for (const spawn of waiting) await expect(spawn).rejects.toThrow('JobScheduler is closed');
    g.open();
    await closing;
    expect(scheduler.stats()).toMatchObject({ spawned: 1, fulfilled: 1, waiting: 0 });
  });

  it('at its timeout aborts the active jobs and cancels the pending ones (aiojobs test_timeout_on_closing)', async () => {
    vi.useFakeTimers();
    const scheduler = new JobScheduler({ limit: 1 });
    let reason: unknown;
    let pendingRan = false;
    const active = await scheduler.spawn(
      (signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            reject(signal.reason);
          });
        }),
    );
    const pending = await scheduler.spawn(() => {
      pendingRan = true;
    });
    const closing = scheduler.close({ timeout: 500 });
    await vi.advanceTimersByTimeAsync(499);
    expect(await settledState(closing)).toEqual({ status: 'pending' });
    await vi.advanceTimersByTimeAsync(1);
    await closing;
    expect(reason).toBeInstanceOf(ClosedError);
    expect((reason as Error).message).toBe(
      'JobScheduler closed: its close timeout of 500 ms ran out',
    );
    expect([active.status, pending.status]).toEqual(['cancelled', 'cancelled']);
    expect(pendingRan).toBe(false);
    await expect(pending.result()).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('timeout 0 cancels everything at once; jobs that finish early clear the timer', async () => {
    vi.useFakeTimers();
    const a = new JobScheduler({ limit: 1 });
    await a.spawn(
      (signal) =>
        new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    await a.close({ timeout: 0 });
    expect(a.stats()).toMatchObject({ cancelled: 1, active: 0 });

    const b = new JobScheduler({ limit: 1 });
    const g = gate();
    await b.spawn(() => g.promise);
    const closing = b.close({ timeout: 60_000 });
    g.open();
    await closing;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a job that ignores its signal holds close until it settles (close resolves when all have settled)', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const g = gate<string>();
    const job = await scheduler.spawn((_signal) => g.promise);
    const closing = scheduler.close({ timeout: 0 });
    expect(await settledState(closing)).toEqual({ status: 'pending' });
    g.open('done anyway');
    await closing;
    expect(job.status).toBe('fulfilled');
  });

  it('twice returns the same promise; on an idle scheduler it resolves at once', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const first = scheduler.close({ timeout: 100 });
    expect(scheduler.close()).toBe(first);
    await first;
    expect(scheduler.close()).toBe(first);
  });

  it('wait, then close: children spawned by jobs while waiting are waited for (aiojobs test_wait_and_close_spawn)', async () => {
    const scheduler = new JobScheduler({ limit: 4 });
    let childDone = false;
    await scheduler.spawn(async () => {
      await tick();
      await scheduler.spawn(async () => {
        await tick();
        childDone = true;
      });
    });
    await scheduler.wait();
    expect(childDone).toBe(true);
    await scheduler.close();
    expect(scheduler.stats()).toMatchObject({ spawned: 2, fulfilled: 2 });
  });

  it('a job that spawns after close gets ClosedError (close refuses at once; use wait() first)', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const g = gate();
    let childError: unknown;
    await scheduler.spawn(async () => {
      await g.promise;
      await scheduler
        .spawn(() => 1)
        .catch((error) => {
          childError = error;
        });
    });
    const closing = scheduler.close();
    g.open();
    await closing;
    expect(childError).toBeInstanceOf(ClosedError);
  });
});

describe('wait(options)', () => {
  it('resolves at once when idle; otherwise once every job has settled', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    await scheduler.wait();
    const g = gate();
    const job = await scheduler.spawn(() => g.promise);
    const waiting = scheduler.wait();
    expect(await settledState(waiting)).toEqual({ status: 'pending' });
    g.open();
    await waiting;
    expect(job.status).toBe('fulfilled');
  });

  it('rejects with TimeoutError past its timeout and with signal.reason on abort, leaving no timer', async () => {
    vi.useFakeTimers();
    const scheduler = new JobScheduler({ limit: 1 });
    const g = gate();
    await scheduler.spawn(() => g.promise);
    const timed = expect(scheduler.wait({ timeout: 50 })).rejects.toThrow(
      'JobScheduler wait timed out after 50 ms',
    );
    await vi.advanceTimersByTimeAsync(50);
    await timed;
    const controller = new AbortController();
    const aborted = scheduler.wait({ signal: controller.signal });
    controller.abort('stop');
    await expect(aborted).rejects.toBe('stop');
    expect(vi.getTimerCount()).toBe(0);
    g.open();
    await scheduler.wait();
  });
});

describe('errors: whoever awaits result() owns them; otherwise onError, exactly once', () => {
  it('an awaited failure never reaches onError (aiojobs test_exception_in_explicit_waiting)', async () => {
    const onError = vi.fn();
    const scheduler = new JobScheduler({ limit: 1, onError });
    const boom = new Error('boom');
    const job = await scheduler.spawn(async () => {
      await tick();
      throw boom;
    });
    await expect(job.result()).rejects.toBe(boom);
    await tick();
    await scheduler.close();
    expect(onError).not.toHaveBeenCalled();
    expect(job.status).toBe('rejected');
  });

  it('await (await spawn(fn)).result() claims even an immediate failure', async () => {
    const onError = vi.fn();
    const scheduler = new JobScheduler({ limit: 1, onError });
    const boom = new Error('at once');
    await expect(
      (
        await scheduler.spawn(async () => {
          throw boom;
        })
      ).result(),
    ).rejects.toBe(boom);
    await tick();
    await tick();
    expect(onError).not.toHaveBeenCalled();
  });

  it('a failure nobody awaited goes to onError once, with the job (aiojobs test_exception_non_waited_job)', async () => {
    const onError = vi.fn();
    const scheduler = new JobScheduler({ limit: 1, onError });
    const boom = new Error('unwatched');
    const job = await scheduler.spawn(async () => {
      throw boom;
    });
    await tick();
    await tick();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(boom, job);
    // Asking afterwards still tells the truth, but onError is not called again.
    await expect(job.result()).rejects.toBe(boom);
    await tick();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(scheduler.stats()).toMatchObject({ rejected: 1, unhandled: 1 });
  });

  it('close() hands unclaimed failures to onError before it resolves (aiojobs test_exception_on_close)', async () => {
    vi.useFakeTimers();
    const onError = vi.fn();
    const scheduler = new JobScheduler({ limit: 1, onError });
    const boom = new Error('late');
    const g = gate();
    await scheduler.spawn(async () => {
      await g.promise;
      throw boom;
    });
    const closing = scheduler.close();
    g.open();
    await closing;
    // No timer had to fire: the error is reported by the time close() resolves.
    expect(onError).toHaveBeenCalledWith(boom, expect.anything());
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the default onError logs to console.error with the job', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const scheduler = new JobScheduler({ limit: 1 });
    const boom = new Error('logged');
    const job = await scheduler.spawn(() => Promise.reject(boom));
    await scheduler.close();
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0]).toContain(boom);
    expect(log.mock.calls[0]).toContain(job);
  });

  it('an onError that throws breaks nothing: its error goes to reportError', async () => {
    const reported: unknown[] = [];
    const original = (globalThis as { reportError?: unknown }).reportError;
    (globalThis as { reportError?: unknown }).reportError = (e: unknown) => reported.push(e);
    try {
      const oops = new Error('handler bug');
      const scheduler = new JobScheduler({
        limit: 1,
        onError: () => {
          throw oops;
        },
      });
      await scheduler.spawn(() => Promise.reject(new Error('x')));
      await scheduler.spawn(() => Promise.reject(new Error('y')));
      await scheduler.close();
      expect(reported).toEqual([oops, oops]);
      expect(scheduler.stats().unhandled).toBe(2);
    } finally {
      (globalThis as { reportError?: unknown }).reportError = original;
    }
  });

  it('cancellations are not errors: a cancelled job never reaches onError', async () => {
    const onError = vi.fn();
    const scheduler = new JobScheduler({ limit: 1, onError });
    const active = await scheduler.spawn(
      (signal) =>
        new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const pending = await scheduler.spawn(() => 1);
    pending.cancel();
    active.cancel();
    await scheduler.close();
    expect(onError).not.toHaveBeenCalled();
    expect(scheduler.stats()).toMatchObject({ cancelled: 2, rejected: 0 });
  });
});

describe('cancel(reason): pending vs active', () => {
  it('pending: never starts, status cancelled, result() rejects with the reason, a waiting spawn enters', async () => {
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 1 });
    const g = gate();
    await scheduler.spawn(() => g.promise);
    let ran = false;
    const pending = await scheduler.spawn(() => {
      ran = true;
    });
    const waiting = scheduler.spawn(() => 'third');
    const reason = new Error('not needed');
    pending.cancel(reason);
    pending.cancel(new Error('again')); // idempotent
    expect(pending.status).toBe('cancelled');
    await expect(pending.result()).rejects.toBe(reason);
    const third = await waiting;
    expect(third.status).toBe('pending');
    g.open();
    await expect(third.result()).resolves.toBe('third');
    expect(ran).toBe(false);
  });

  it('active: its signal aborts with the reason; a job that stops on it is cancelled', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    let seen: AbortSignal | undefined;
    const job = await scheduler.spawn((signal) => {
      seen = signal;
      return new Promise((_r, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    });
    const reason = new Error('stop');
    job.cancel(reason);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(reason);
    await expect(job.result()).rejects.toBe(reason);
    expect(job.status).toBe('cancelled');
  });

  it('active: a job may ignore the abort and finish; then it is fulfilled', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const g = gate<number>();
    const job = await scheduler.spawn((_signal) => g.promise);
    job.cancel();
    g.open(7);
    await expect(job.result()).resolves.toBe(7);
    expect(job.status).toBe('fulfilled');
  });

  it('the default reason is an AbortError DOMException, as AbortController.abort() gives', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const g = gate();
    await scheduler.spawn(() => g.promise);
    const pending = await scheduler.spawn(() => 1);
    pending.cancel();
    const error = await pending.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    g.open();
  });

  it('a job granted a slot but not called yet never starts when cancelled, and frees the slot', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const g = gate();
    const first = await scheduler.spawn(() => g.promise);
    let ran = false;
    const second = await scheduler.spawn(() => {
      ran = true;
    });
    g.open();
    await first.result();
    // The slot went to `second` synchronously; its function runs a microtask later.
    expect(second.status).toBe('active');
    const reason = new Error('changed my mind');
    second.cancel(reason);
    await expect(second.result()).rejects.toBe(reason);
    expect(second.status).toBe('cancelled');
    expect(ran).toBe(false);
    expect(scheduler.active).toBe(0);
    expect(scheduler.stats()).toMatchObject({ cancelled: 1, fulfilled: 1 });
  });

  it('a function without parameters gets no signal: cancel cannot stop it, it ends fulfilled', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const g = gate<number>();
    let args: number | undefined;
    const job = await scheduler.spawn(function (this: unknown) {
      // biome-ignore lint/complexity/noArguments: what the job function is called with
      args = arguments.length;
      return g.promise;
    });
    job.cancel();
    g.open(1);
    await expect(job.result()).resolves.toBe(1);
    expect(args).toBe(0);
    expect(job.status).toBe('fulfilled');
  });

  it('settled: cancel does nothing', async () => {
    const scheduler = new JobScheduler({ limit: 1 });
    const job = await scheduler.spawn(() => 'ok');
    await job.result();
    job.cancel();
    expect(job.status).toBe('fulfilled');
  });
});

describe('async context', () => {
  it('a job runs in the spawner’s AsyncLocalStorage context, even after waiting as pending', async () => {
    const als = new AsyncLocalStorage<string>();
    const scheduler = new JobScheduler({ limit: 1, pendingLimit: 1 });
    const g = gate();
    const seen: (string | undefined)[] = [];
    await als.run('first', () =>
      scheduler.spawn(async () => {
        seen.push(als.getStore());
        await g.promise;
      }),
    );
    await als.run('second', () => scheduler.spawn(() => seen.push(als.getStore())));
    // The third waits for a pending slot (backpressure) and still keeps its context.
    const third = als.run('third', () => scheduler.spawn(() => seen.push(als.getStore())));
    als.run('releaser', () => g.open());
    await third;
    await scheduler.wait();
    expect(seen).toEqual(['first', 'second', 'third']);
  });
});

describe('stats()', () => {
  it('has every gauge and counter', async () => {
    const scheduler = new JobScheduler({ limit: 2, pendingLimit: 5 });
    expect(scheduler.stats()).toEqual({
      limit: 2,
      pendingLimit: 5,
      active: 0,
      pending: 0,
      waiting: 0,
      maxActive: 0,
      maxPending: 0,
      spawned: 0,
      fulfilled: 0,
      rejected: 0,
      cancelled: 0,
      unhandled: 0,
      timedOut: 0,
      aborted: 0,
    });
  });
});

describe('process hygiene', () => {
  it('no unhandledRejection in this file', async () => {
    await tick();
    expect(unhandled).toEqual([]);
  });
});

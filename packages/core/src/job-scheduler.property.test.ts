import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { trackUnhandledRejections } from './internal/unhandled-rejections.test-support.js';
import type { Job } from './job.js';
import { JobScheduler } from './job-scheduler.js';

// Random spawn / finish / cancel / abort / claim / close / time sequences. After every step:
// never more than `limit` functions running, `limit` active or `pendingLimit` pending. At the
// end every spawn and every job has settled, and every failed job was reported exactly once:
// to whoever claimed it with result() before onError had it, or else to onError.

type Kind = 'listens' | 'deaf' | 'syncOk' | 'syncThrow';

type Op =
  | { t: 'spawn'; kind: Kind; abortable: boolean; timeout: number | undefined }
  | { t: 'finish'; k: number; ok: boolean }
  | { t: 'cancel'; k: number; pending: boolean }
  | { t: 'abortSpawn'; k: number }
  | { t: 'claim'; k: number }
  | { t: 'time'; ms: number }
  | { t: 'close'; timeout: number | undefined };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('spawn' as const),
      kind: fc.constantFrom<Kind>('listens', 'listens', 'deaf', 'syncOk', 'syncThrow'),
      abortable: fc.boolean(),
      timeout: fc.option(fc.constantFrom(0, 5, 50), { nil: undefined }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ t: fc.constant('finish' as const), k: fc.nat(30), ok: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('cancel' as const),
      k: fc.nat(30),
      pending: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('abortSpawn' as const), k: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('claim' as const), k: fc.nat(30) }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('time' as const), ms: fc.constantFrom(0, 1, 5, 60) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('close' as const),
      timeout: fc.option(fc.constantFrom(0, 10), { nil: undefined }),
    }),
  },
);

interface Fn {
  id: number;
  resolve?: (value: number) => void;
  reject?: (reason: unknown) => void;
  running: boolean;
}

const unhandled = trackUnhandledRejections();

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('JobScheduler under random sequences (fast-check)', () => {
  it('stays within its limits, settles everything and reports every failure exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(opArb, { maxLength: 60 }),
        async (limit, pendingLimit, ops) => {
          vi.useFakeTimers();
          try {
            const reported = new Map<Job<unknown>, unknown[]>();
            const scheduler = new JobScheduler({
              limit,
              pendingLimit,
              onError: (error, job) => {
                const list = reported.get(job) ?? [];
                list.push(error);
                reported.set(job, list);
              },
            });
            const fns: Fn[] = [];
            const jobs: Job<number>[] = [];
            const spawns: { settled: boolean; controller: AbortController }[] = [];
            // Claims made before onError had the job's error, with what they saw.
            const claims = new Map<Job<unknown>, { settled: boolean; error?: unknown }>();
            let running = 0;
            let mostRunning = 0;
            let nextId = 0;

            const makeFn = (kind: Kind) => {
              const fn: Fn = { id: nextId++, running: false };
              const begin = () => {
                fn.running = true;
                running++;
                mostRunning = Math.max(mostRunning, running);
                fns.push(fn);
              };
              const end = () => {
                if (!fn.running) return false;
                fn.running = false;
                running--;
                return true;
              };
              const body = (signal?: AbortSignal) => {
                begin();
                if (kind === 'syncOk') {
                  end();
                  return fn.id;
                }
                if (kind === 'syncThrow') {
                  end();
                  throw new Error(`sync ${fn.id}`);
                }
                return new Promise<number>((resolve, reject) => {
                  fn.resolve = (v) => end() && resolve(v);
                  fn.reject = (e) => end() && reject(e);
                  signal?.addEventListener('abort', () => fn.reject?.(signal.reason));
                });
              };
              return kind === 'deaf' ? () => body() : (signal: AbortSignal) => body(signal);
            };

            const check = () => {
              expect(running).toBeLessThanOrEqual(limit);
              expect(scheduler.active).toBeLessThanOrEqual(limit);
              expect(scheduler.pending).toBeLessThanOrEqual(pendingLimit);
            };

            const claim = (job: Job<number>) => {
              if (claims.has(job) || reported.has(job)) return;
              const seen: { settled: boolean; error?: unknown } = { settled: false };
              claims.set(job, seen);
              job.result().then(
                () => {
                  seen.settled = true;
                },
                (error) => {
                  seen.settled = true;
                  seen.error = error;
                },
              );
            };

            for (const op of ops) {
              switch (op.t) {
                case 'spawn': {
                  const controller = new AbortController();
                  const entry = { settled: false, controller };
                  spawns.push(entry);
                  scheduler
                    .spawn(makeFn(op.kind), {
                      signal: op.abortable ? controller.signal : undefined,
                      timeout: op.timeout,
                    })
                    .then(
                      (job) => {
                        entry.settled = true;
                        jobs.push(job);
                      },
                      () => {
                        entry.settled = true;
                      },
                    );
                  break;
                }
                case 'finish': {
                  const live = fns.filter((f) => f.running);
                  const fn = live[op.k % Math.max(1, live.length)];
                  if (fn) {
                    if (op.ok) fn.resolve?.(fn.id);
                    else fn.reject?.(new Error(`failed ${fn.id}`));
                  }
                  break;
                }
                case 'cancel': {
                  const candidates = jobs.filter((j) =>
                    op.pending ? j.status === 'pending' : j.status === 'active',
                  );
                  candidates[op.k % Math.max(1, candidates.length)]?.cancel(new Error('cancelled'));
                  break;
                }
                case 'abortSpawn':
                  spawns[op.k % Math.max(1, spawns.length)]?.controller.abort(new Error('left'));
                  break;
                case 'claim': {
                  const job = jobs[op.k % Math.max(1, jobs.length)];
                  if (job) claim(job);
                  break;
                }
                case 'time':
                  await vi.advanceTimersByTimeAsync(op.ms);
                  break;
                case 'close':
                  void scheduler.close({ timeout: op.timeout });
                  break;
              }
              await flush();
              check();
            }

            // Wind down: the deaf functions are finished by hand, the rest by the close timeout.
            const closing = scheduler.close({ timeout: 5 });
            for (let round = 0; round < 50 && fns.some((f) => f.running); round++) {
              for (const fn of fns) if (fn.running && round > 2) fn.resolve?.(fn.id);
              await vi.advanceTimersByTimeAsync(10);
              check();
            }
            await vi.advanceTimersByTimeAsync(10);
            await closing;
            await flush();

            expect(spawns.every((s) => s.settled)).toBe(true);
            expect(mostRunning).toBeLessThanOrEqual(limit);
            for (const job of jobs) {
              expect(['fulfilled', 'rejected', 'cancelled']).toContain(job.status);
            }
            const stats = scheduler.stats();
            expect(stats.active + stats.pending + stats.waiting).toBe(0);
            expect(stats.fulfilled + stats.rejected + stats.cancelled).toBe(stats.spawned);
            expect(stats.spawned).toBe(jobs.length);

            let failures = 0;
            for (const job of jobs) {
              const claimed = claims.get(job);
              const toOnError = reported.get(job)?.length ?? 0;
              if (job.status === 'rejected') {
                failures++;
                // Exactly once: to the claimant, or to onError.
                expect(toOnError + (claimed ? 1 : 0)).toBe(1);
                if (claimed) expect(claimed.error).toBeInstanceOf(Error);
              } else {
                expect(toOnError).toBe(0);
              }
              if (claimed) expect(claimed.settled).toBe(true);
            }
            expect(stats.rejected).toBe(failures);
            expect(stats.unhandled).toBe([...reported.values()].flat().length);
            expect(vi.getTimerCount()).toBe(0);
          } finally {
            vi.useRealTimers();
          }
        },
      ),
      { numRuns: 150 },
    );
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(unhandled).toEqual([]);
  });
});

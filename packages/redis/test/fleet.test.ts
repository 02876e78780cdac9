// Several OS processes (child_process.fork), each with a node-redis and an ioredis store, on one
// redis-server: the limit holds for the fleet as a whole, take() is FIFO across processes,
// wall clocks off by ±10 minutes change nothing, and no key is left without a TTL.
// SLUICE_SOAK=1 runs the hammer for the full 5 s instead of 3 s.
import { type ChildProcess, fork } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorker, packageDir } from './bundle-worker.js';
import type { Job, WorkerReport } from './fleet-worker.js';
import { keysWithTtl, startRedis, type TestRedis } from './redis-server.js';

const HAMMER_MS = process.env.SLUICE_SOAK === '1' ? 5000 : 3000;
const TEN_MINUTES = 10 * 60_000;
// Bundled once (see bundle-worker.ts) and run by plain node.
let worker: string;
const shim = new URL('./shift-clock.mjs', import.meta.url).href;
const clock = () => Number(process.hrtime.bigint()) / 1e6;

let redis: TestRedis;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  redis = await startRedis();
  worker = await bundleWorker('fleet-worker');
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await redis?.stop();
});

/** Forks one worker per shift, starts the job in all at once, and collects their reports. */
async function fleet(shifts: number[], job: Job, budgetMs: number): Promise<WorkerReport[]> {
  const started = shifts.map((shift) => {
    const child = fork(worker, [], {
      cwd: packageDir,
      execArgv: ['--import', shim],
      env: { ...process.env, REDIS_URL: redis.url, SLUICE_CLOCK_SHIFT_MS: String(shift) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) =>
        reject(new Error(`worker exited (${code}) before it was ready`)),
      );
    });
    const report = new Promise<WorkerReport>((resolve, reject) => {
      ready.then(() => child.once('message', (m) => resolve(m as WorkerReport)), reject);
      child.once('exit', (code) => reject(new Error(`worker exited (${code}) without a report`)));
    });
    report.catch(() => {});
    return { child, ready, report };
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`fleet did not finish within ${budgetMs} ms`)),
      budgetMs,
    );
  });
  try {
    await Promise.race([Promise.all(started.map((s) => s.ready)), deadline]);
    const startAt = clock() + 300;
    for (const { child } of started) child.send({ ...job, startAt });
    return await Promise.race([Promise.all(started.map((s) => s.report)), deadline]);
  } finally {
    clearTimeout(timer);
    for (const { child } of started) child.kill('SIGKILL');
  }
}

/**
 * The largest excess of admissions over `capacity + rate·t + 1` in any window. An admission
 * counts in a window only if its whole call (sent .. settled) lies inside it, so the decision,
 * made somewhere in between on Redis's clock, certainly does.
 */
function worstExcess(calls: Array<[number, number]>, capacity: number, rate: number): number {
  const bySent = [...calls].sort((a, b) => a[0] - b[0]);
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < bySent.length; i++) {
    const start = bySent[i]![0];
    const settled = bySent
      .slice(i)
      .map((c) => c[1])
      .sort((a, b) => a - b);
    settled.forEach((end, index) => {
      const allowed = capacity + (rate * (end - start)) / 1000 + 1;
      worst = Math.max(worst, index + 1 - allowed);
    });
  }
  return worst;
}

describe('a fleet of 4 processes x (node-redis + ioredis) on one key', () => {
  it(`admits at most 20 + 100·t + 1 in every window, and at least 95 % of it (${HAMMER_MS / 1000} s)`, async () => {
    const job: Job = {
      kind: 'hammer',
      name: 'hammer',
      durationMs: HAMMER_MS,
      capacity: 20,
      rate: 100,
      loops: 2,
    };
    // Two of the four have wall clocks 10 minutes off, one ahead and one behind.
    const reports = await fleet([0, TEN_MINUTES, -TEN_MINUTES, 0], job, HAMMER_MS + 20_000);
    expect(reports.map((r) => r.unhandled)).toEqual([0, 0, 0, 0]);
    const loops = reports.flatMap((r) => r.loops);
    expect(loops).toHaveLength(16);
    expect(loops.flatMap((l) => l.errors)).toEqual([]);
    // The shim worked: those workers' Date.now() really was 10 minutes off.
    expect(Math.abs(reports[1]!.dateNow - reports[0]!.dateNow - TEN_MINUTES)).toBeLessThan(60_000);

    const admitted = loops.flatMap((l) => l.admitted);
    const refused = loops.reduce((n, l) => n + l.refused, 0);
    expect(refused).toBeGreaterThan(admitted.length); // the key was really contended
    expect(worstExcess(admitted, 20, 100)).toBeLessThanOrEqual(0);

    const firstSettled = Math.min(...admitted.map((c) => c[1]));
    const lastSent = Math.max(...admitted.map((c) => c[0]));
    const fair = 20 + (100 * (lastSent - firstSettled)) / 1000;
    expect(admitted.length).toBeGreaterThanOrEqual(0.95 * fair);
    // Each library and each shifted process got its share: nobody decided on its own clock.
    for (const report of reports) {
      expect(report.loops.reduce((n, l) => n + l.admitted.length, 0)).toBeGreaterThan(10);
    }

    const keys = await keysWithTtl(redis.admin, 'sluice');
    for (const [key, ttl] of keys) expect({ key, ttl: ttl >= 0 }).toEqual({ key, ttl: true });
  });

  it('serves take() callers in arrival order: 8 closed loops in 4 processes get equal turns', async () => {
    const job: Job = { kind: 'take', name: 'fifo', durationMs: 2000, capacity: 1, rate: 50 };
    const reports = await fleet([0, 0, TEN_MINUTES, -TEN_MINUTES], job, 25_000);
    expect(reports.map((r) => r.unhandled)).toEqual([0, 0, 0, 0]);
    const loops = reports.flatMap((r) => r.loops);
    expect(loops.flatMap((l) => l.errors)).toEqual([]);
    const counts = loops.map((l) => l.admitted.length);
    // FIFO by reservation: each caller re-queues behind the other seven, so turns go round (a
    // turn or two of slack for the start and the end of the run, which no process sees at once).
    expect(Math.max(...counts) - Math.min(...counts), JSON.stringify(counts)).toBeLessThanOrEqual(
      3,
    );
    expect(
      worstExcess(
        loops.flatMap((l) => l.admitted),
        1,
        50,
      ),
    ).toBeLessThanOrEqual(0);

    const keys = await keysWithTtl(redis.admin, 'sluice');
    for (const [key, ttl] of keys) expect({ key, ttl: ttl >= 0 }).toEqual({ key, ttl: true });
  });

  it('workers whose Date.now() is off by ±10 minutes get exactly the same decisions', async () => {
    // Each worker its own key (the name ends with its shift), all at the same moment.
    const job: Job = { kind: 'burst', name: 'same', capacity: 20, rate: 1, calls: 25 };
    const runs = await fleet([0, TEN_MINUTES, -TEN_MINUTES], job, 20_000);
    const decisions = runs.map((r) =>
      r.burst!.map((d) => (d.ok ? `ok ${d.remaining}` : 'refused')),
    );
    expect(decisions[0]).toEqual([
      ...Array.from({ length: 20 }, (_, i) => `ok ${19 - i}`),
      ...Array(5).fill('refused'),
    ]);
    expect(decisions[1]).toEqual(decisions[0]);
    expect(decisions[2]).toEqual(decisions[0]);
    // Retry hints come from Redis's clock too: at 1 token/s, within a second, never minutes.
    for (const run of runs) {
      for (const d of run.burst!.filter((d) => !d.ok)) {
        expect(d.retryAfterMs).toBeGreaterThan(0);
        expect(d.retryAfterMs).toBeLessThanOrEqual(1000);
      }
    }
  });
});

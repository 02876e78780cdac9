import { shuffled } from '../harness.js';
import {
  entries,
  floor,
  idealRing,
  idealRingPermit,
  limiterLib,
  permitFloor,
  pLimitLib,
  pQueueLib,
  semaphorePeers,
  sluice,
  sluiceLock,
  sluiceSignalJobs,
} from '../peers/index.js';
import type { Case, Sizes } from '../types.js';

/** Scenario numbers and the names `--only` accepts for them. */
export const SCENARIOS: Record<number, string> = {
  1: 'uncontended',
  2: 'handoff',
  3: 'run',
  4: 'cancel',
  5: 'heap',
  6: 'queue',
  7: 'trytake',
  8: 'run-uncontended',
  9: 'burst',
  10: 'jobs',
  11: 'job-heap',
};

/** Scenario 9: how many tasks take turns on the one semaphore (so 3 wait at any time). */
export const BURST_TASKS = 4;

const warm = (n: number): number => Math.max(100, Math.floor(n / 10));

const orders = new Map<number, Uint32Array>();
/** The abort order: one fixed shuffle per size, shared by every library (clients leave at random). */
function abortOrder(n: number): Uint32Array {
  let order = orders.get(n);
  if (!order) {
    order = shuffled(n);
    orders.set(n, order);
  }
  return order;
}

const everyone = [floor, sluice, ...semaphorePeers];

export function buildCases(sizes: Sizes): Case[] {
  const cases: Case[] = [];

  cases.push({
    scenario: 1,
    id: 'uncontended',
    title: 'Uncontended acquire + release, limit 1, in sequence',
    variant: 'limit 1',
    metric: 'time',
    n: sizes.uncontended,
    warmupN: warm(sizes.uncontended),
    entries: [
      ...entries([floor, permitFloor, sluice, ...semaphorePeers], 'uncontended'),
      sluiceLock.uncontended(),
    ],
  });

  for (const limit of [1, 10, 100]) {
    cases.push({
      scenario: 2,
      id: `handoff-limit-${limit}`,
      title: 'Contended hand-off: all tasks started at once',
      variant: `limit ${limit}`,
      metric: 'time',
      n: sizes.handoff,
      warmupN: warm(sizes.handoff),
      entries: entries(everyone, 'handoff', limit),
    });
  }

  cases.push({
    scenario: 3,
    id: 'run-limit-10',
    title: 'run() or the peer’s wrapper, all tasks started at once',
    variant: 'limit 10',
    metric: 'time',
    n: sizes.run,
    warmupN: warm(sizes.run),
    entries: entries(everyone, 'run', 10),
  });

  for (const n of sizes.cancel) {
    cases.push({
      scenario: 4,
      id: `cancel-${n}`,
      title: 'Cancellation: queued waiters aborted by their own signals (random order)',
      variant: `${n.toLocaleString('en-US')} waiters`,
      metric: 'time',
      n,
      warmupN: warm(n),
      entries: entries(everyone, 'cancel', abortOrder),
    });
  }

  cases.push({
    scenario: 5,
    id: 'heap-per-waiter',
    title: 'Heap bytes per queued waiter',
    variant: `${sizes.waiters.toLocaleString('en-US')} waiters`,
    metric: 'heap',
    n: sizes.waiters,
    warmupN: warm(sizes.waiters),
    entries: entries(everyone, 'waiters'),
  });

  for (const capacity of [1, 16, 1024]) {
    cases.push({
      scenario: 6,
      id: `queue-capacity-${capacity}`,
      title: 'BoundedQueue producer/consumer',
      variant: `capacity ${capacity}`,
      metric: 'time',
      n: sizes.queue,
      warmupN: warm(sizes.queue),
      entries: entries([floor, sluice, pQueueLib], 'queue', capacity),
    });
  }

  for (const mode of ['admit', 'refuse'] as const) {
    cases.push({
      scenario: 7,
      id: `trytake-${mode}`,
      title: 'TokenBucket tryTake',
      variant: mode === 'admit' ? 'always admits' : 'always refuses',
      metric: 'time',
      n: sizes.tryTake,
      warmupN: warm(sizes.tryTake),
      entries: entries([floor, sluice, limiterLib], 'tryTake', mode),
    });
  }

  cases.push({
    scenario: 8,
    id: 'run-uncontended',
    title: 'run() or the peer’s wrapper, uncontended, limit 1, in sequence',
    variant: 'limit 1',
    metric: 'time',
    n: sizes.runUncontended,
    warmupN: warm(sizes.runUncontended),
    entries: entries(everyone, 'runUncontended'),
  });

  cases.push({
    scenario: 9,
    id: `burst-${BURST_TASKS}`,
    title: `Small bursts on one long-lived semaphore: ${BURST_TASKS} tasks loop acquire/release, limit 1`,
    variant: `${BURST_TASKS} tasks`,
    metric: 'time',
    n: sizes.burst,
    warmupN: warm(sizes.burst),
    entries: entries([idealRing, idealRingPermit, sluice, ...semaphorePeers], 'burst', BURST_TASKS),
  });

  cases.push({
    scenario: 10,
    id: 'jobs-limit-10',
    title: 'Background jobs: spawn n small jobs, wait until all are done',
    variant: 'limit 10',
    metric: 'time',
    n: sizes.jobs,
    warmupN: warm(sizes.jobs),
    entries: [...entries([floor, sluice, pLimitLib, pQueueLib], 'jobs', 10), sluiceSignalJobs(10)],
  });

  cases.push({
    scenario: 11,
    id: 'heap-per-pending-job',
    title: 'Heap bytes per pending job',
    variant: `${sizes.pendingJobs.toLocaleString('en-US')} jobs`,
    metric: 'heap',
    n: sizes.pendingJobs,
    warmupN: warm(sizes.pendingJobs),
    entries: entries([floor, sluice, pLimitLib, pQueueLib], 'pendingJobs'),
  });

  return cases;
}

/** Keeps the cases `--only` asks for: scenario numbers, scenario names or case ids. */
export function selectCases(cases: Case[], only: readonly string[]): Case[] {
  if (only.length === 0) return cases;
  const wanted = new Set(only.map((s) => s.toLowerCase()));
  return cases.filter(
    (c) =>
      wanted.has(String(c.scenario)) ||
      wanted.has(SCENARIOS[c.scenario] ?? '') ||
      wanted.has(c.id.toLowerCase()),
  );
}

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Case, Entry } from './types.js';

/** What one row measured across the repetitions. */
export interface RowResult {
  library: string;
  role: Entry['role'];
  api: string;
  status: 'ok' | 'n/a' | 'error';
  /** Reason for n/a, error message, or a failed post-condition. */
  note?: string;
  /** Milliseconds per run (time) or bytes per waiter (heap), one per repetition. */
  samples: number[];
  /** The repetition (round) each sample was taken in: pairs rows of one round for ratios. */
  rounds: number[];
  median?: number;
}

export interface CaseResult {
  case: Case;
  rows: RowResult[];
}

/** Which clock times a run: wall-clock, or this process's CPU time (user + system, all threads). */
export type Clock = 'wall' | 'cpu';

export interface HarnessOptions {
  reps: number;
  /** Default wall. CPU time is steadier on a shared machine (time other processes take is not counted). */
  clock?: Clock;
  /** Stop repeating a row once its samples add up to this many ms (slow, quadratic peers). */
  rowBudgetMs: number;
  /** Called after each sample, e.g. for progress on stderr. */
  onSample?: (c: Case, row: RowResult) => void;
}

let gcFn: (() => void) | undefined;

/** `global.gc` from `--expose-gc`, or obtained at run time when the flag was not given. */
export function gc(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gcFn = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

export function median(values: readonly number[]): number | undefined {
  return quantile(values, 0.5);
}

/** The q-quantile (0..1) by linear interpolation between the closest ranks. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** A median with its spread: the interquartile range of the same values. */
export interface Spread {
  median: number;
  p25: number;
  p75: number;
  /** How many values (rounds) it summarizes. */
  n: number;
}

export function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  return {
    median: quantile(values, 0.5)!,
    p25: quantile(values, 0.25)!,
    p75: quantile(values, 0.75)!,
    n: values.length,
  };
}

/**
 * `f(a, b)` for every round both rows have a sample of, summarized: a ratio (or difference)
 * of two rows taken round by round, so a slow round slows both sides alike.
 */
export function paired(
  a: { samples: readonly number[]; rounds: readonly number[] },
  b: { samples: readonly number[]; rounds: readonly number[] },
  f: (x: number, y: number) => number,
): Spread | undefined {
  const byRound = new Map<number, number>();
  for (let i = 0; i < b.samples.length; i++) byRound.set(b.rounds[i]!, b.samples[i]!);
  const values: number[] = [];
  for (let i = 0; i < a.samples.length; i++) {
    const y = byRound.get(a.rounds[i]!);
    if (y !== undefined) values.push(f(a.samples[i]!, y));
  }
  return spread(values);
}

interface Sample {
  value: number;
  check?: string | undefined;
}

/** Runs one row once at size `n`: a prepared trial timed alone, or waiters weighed after GC. */
export async function sample(entry: Entry, n: number, clock: Clock = 'wall'): Promise<Sample> {
  const probe = entry.probe;
  if (!probe) throw new Error(`${entry.library} has nothing to measure`);
  if (probe.kind === 'time') {
    const trial = await probe.prepare(n);
    gc();
    const cpu = clock === 'cpu' ? process.cpuUsage() : undefined;
    const start = process.hrtime.bigint();
    await trial.run();
    const wallNs = Number(process.hrtime.bigint() - start);
    let ms = wallNs / 1e6;
    if (cpu) {
      const { user, system } = process.cpuUsage(cpu);
      ms = (user + system) / 1000;
    }
    const check = await trial.verify?.();
    return { value: ms, check };
  }
  // Heap: the sink is allocated before the first reading so its slots are not counted.
  const sink = new Array<unknown>(n).fill(undefined);
  const hold = await probe.prepare(n);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  hold.enqueue(sink);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  await hold.drain(sink);
  return { value: (after - before) / n };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Measures every row of a case: one warm-up run each at `warmupN`, then `reps` repetitions in
 * which the rows are interleaved, the starting row rotating so no library always runs first
 * (or always right after a GC-heavy neighbour). Reports medians.
 */
export async function runCase(c: Case, options: HarnessOptions): Promise<CaseResult> {
  const rows: RowResult[] = c.entries.map((entry) =>
    entry.probe
      ? {
          library: entry.library,
          role: entry.role,
          api: entry.api,
          status: 'ok',
          samples: [],
          rounds: [],
        }
      : {
          library: entry.library,
          role: entry.role,
          api: entry.api,
          status: 'n/a',
          note: entry.na ?? 'n/a',
          samples: [],
          rounds: [],
        },
  );
  const spent = new Array<number>(rows.length).fill(0);
  const live = (i: number): boolean => rows[i]!.status === 'ok';

  for (let i = 0; i < rows.length; i++) {
    if (!live(i)) continue;
    try {
      await sample(c.entries[i]!, c.warmupN, options.clock);
    } catch (error) {
      rows[i]!.status = 'error';
      rows[i]!.note = describe(error);
    }
  }

  for (let rep = 0; rep < options.reps; rep++) {
    for (let k = 0; k < rows.length; k++) {
      const i = (k + rep) % rows.length;
      const row = rows[i]!;
      if (!live(i)) continue;
      if (rep > 0 && spent[i]! > options.rowBudgetMs) continue;
      const started = performance.now();
      try {
        const result = await sample(c.entries[i]!, c.n, options.clock);
        row.samples.push(result.value);
        row.rounds.push(rep);
        if (result.check && !row.note) row.note = `check failed: ${result.check}`;
      } catch (error) {
        row.status = 'error';
        row.note = describe(error);
      }
      spent[i]! += performance.now() - started;
      options.onSample?.(c, row);
    }
  }

  for (const row of rows) {
    if (row.status !== 'ok') continue;
    row.median = median(row.samples);
    if (row.samples.length < options.reps) {
      const note = `${row.samples.length} of ${options.reps} reps (time budget)`;
      row.note = row.note ? `${row.note}; ${note}` : note;
    }
  }
  return { case: c, rows };
}

/** A fixed pseudo-random permutation of 0..n-1 (xorshift32, seeded), the same for every row. */
export function shuffled(n: number, seed = 0x9e3779b9): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let x = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const j = x % (i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

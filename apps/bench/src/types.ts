/** Who a row belongs to: the floor (a lower bound), sluice itself, or a peer library from npm. */
export type Role = 'floor' | 'sluice' | 'peer';

/** One timed run, prepared outside the clock: only `run` is timed, `verify` checks afterwards. */
export interface Trial {
  run(): Promise<void> | void;
  /** A message when a post-condition failed (the figure is then flagged), else undefined. */
  verify?(): Promise<string | undefined> | string | undefined;
}

/** Queues `n` waiters into a preallocated `sink` so the harness can weigh them on the heap. */
export interface WaiterHold {
  /** Creates the waiters; everything it allocates is counted, `sink` itself is not. */
  enqueue(sink: unknown[]): void;
  /** Lets every waiter through (or settles it) so nothing is left pending. */
  drain(sink: unknown[]): Promise<void>;
}

/** What one row measures: a prepared trial (time) or a heap weighing (bytes). */
export type Probe =
  | { kind: 'time'; prepare(n: number): Promise<Trial> | Trial }
  | { kind: 'heap'; prepare(n: number): Promise<WaiterHold> | WaiterHold };

/** One row of a case: a library mapped onto the scenario, or n/a with the reason. */
export interface Entry {
  library: string;
  role: Role;
  /** The API the row exercises, e.g. `limit(fn)`; shown in the table. */
  api: string;
  probe?: Probe;
  /** Why the library cannot take part, when `probe` is absent. */
  na?: string;
}

/** A scenario at one parameter setting (e.g. hand-off at limit 10): one table section. */
export interface Case {
  scenario: number;
  /** Stable id used in JSON and in `--only`, e.g. `handoff-limit-10`. */
  id: string;
  title: string;
  variant: string;
  /** `time`: lower median milliseconds is better; `heap`: bytes per waiter. */
  metric: 'time' | 'heap';
  /** Work items per run: converts a median time into ops/s. */
  n: number;
  /** Smaller size for the warm-up run of every row. */
  warmupN: number;
  entries: Entry[];
}

/** Sizes of every scenario in one mode. */
export interface Sizes {
  reps: number;
  uncontended: number;
  handoff: number;
  run: number;
  /** Scenario 8: `run(fn)` awaited in sequence. */
  runUncontended: number;
  /** Scenario 9: hand-offs on one long-lived semaphore, by 4 looping tasks. */
  burst: number;
  cancel: [number, number];
  waiters: number;
  queue: number;
  tryTake: number;
  /** JobScheduler spawn + complete, and the pending jobs weighed on the heap. */
  jobs: number;
  pendingJobs: number;
}

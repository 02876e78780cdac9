import type { Entry, Role, Trial, WaiterHold } from '../types.js';

export type TryTakeMode = 'admit' | 'refuse';

/**
 * One contender mapped onto every scenario. Each library writes its own loops (no shared call
 * site the JIT would have to make polymorphic), and says n/a with a reason where its API has
 * no such capability: we never emulate one.
 */
export interface Library {
  name: string;
  role: Role;
  /** npm package whose version the report prints; absent for the floor. */
  packageName?: string;
  uncontended?(): Entry;
  handoff?(limit: number): Entry;
  run?(limit: number): Entry;
  /** `run(fn)` (or the peer's wrapper) awaited in sequence, limit 1: never contended. */
  runUncontended?(): Entry;
  /** `tasks` tasks loop `await acquire(); release()` on one long-lived limit-1 semaphore. */
  burst?(tasks: number): Entry;
  /** `order[i]` is the index of the i-th waiter to abort (the same permutation for everyone). */
  cancel?(order: (n: number) => Uint32Array): Entry;
  waiters?(): Entry;
  queue?(capacity: number): Entry;
  tryTake?(mode: TryTakeMode): Entry;
  /** Spawn `n` small jobs at `limit` and wait until all are done (JobScheduler vs task queues). */
  jobs?(limit: number): Entry;
  /** Jobs accepted but not started (limit 1, the slot held), weighed on the heap. */
  pendingJobs?(): Entry;
  /** Why a capability is missing: shown as n/a in its scenario. */
  missing?: Partial<Record<Capability, string>>;
}

export type Capability =
  | 'uncontended'
  | 'handoff'
  | 'run'
  | 'runUncontended'
  | 'burst'
  | 'cancel'
  | 'waiters'
  | 'queue'
  | 'tryTake'
  | 'jobs'
  | 'pendingJobs';

export function na(library: Pick<Library, 'name' | 'role'>, reason: string): Entry {
  return { library: library.name, role: library.role, api: '—', na: reason };
}

export function timed(
  library: Pick<Library, 'name' | 'role'>,
  api: string,
  prepare: (n: number) => Promise<Trial> | Trial,
): Entry {
  return { library: library.name, role: library.role, api, probe: { kind: 'time', prepare } };
}

export function weighed(
  library: Pick<Library, 'name' | 'role'>,
  api: string,
  prepare: (n: number) => Promise<WaiterHold> | WaiterHold,
): Entry {
  return { library: library.name, role: library.role, api, probe: { kind: 'heap', prepare } };
}

/** Settles when `count` promises have settled; counts rejections (for cancellation checks). */
export class Tally {
  settled = 0;
  rejected = 0;
  readonly done: Promise<void>;
  #resolve!: () => void;
  readonly #count: number;
  readonly onFulfilled = (): void => {
    this.settled++;
    if (this.settled === this.#count) this.#resolve();
  };
  readonly onRejected = (): void => {
    this.rejected++;
    this.onFulfilled();
  };

  constructor(count: number) {
    this.#count = count;
    this.done = new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
    if (count === 0) this.#resolve();
  }
}

/** A promise that never settles until `open()` is called: holds a permit inside run-wrappers. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

export const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The reason every cancellation row aborts with. A bare `abort()` builds a DOMException per call
 * (~3 µs in Node 20, the same for every row), which would only dilute the libraries' share.
 */
export const ABORT_REASON: Error = new Error('waiter aborted');
export const work = (): Promise<void> => RESOLVED;

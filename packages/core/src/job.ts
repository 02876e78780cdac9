/**
 * Where a job is in its life. `pending`: accepted, waiting for a slot. `active`: running.
 * `fulfilled` / `rejected`: its function returned / threw (or its promise rejected).
 * `cancelled`: cancelled before it started, or it stopped on its signal's abort (it rejected
 * with exactly `signal.reason`).
 */
export type JobStatus = 'pending' | 'active' | 'fulfilled' | 'rejected' | 'cancelled';

/** A unit of background work accepted by a `JobScheduler` (what `spawn` resolves). */
export interface Job<T> {
  readonly status: JobStatus;
  /**
   * The job's outcome. Whoever calls this before the job settles (or before the scheduler's
   * next macrotask after it settled) owns its error; a failure nobody claimed goes to the
   * scheduler's `onError`, exactly once. A cancelled job rejects with the cancel reason.
   */
  result(): Promise<T>;
  /**
   * Pending, or active but its function not called yet (it is called a microtask after the
   * grant): the job never starts, its status becomes `cancelled`, `result()` rejects with
   * `reason`. Running: its signal aborts with `reason`. Settled: nothing. Idempotent.
   */
  cancel(reason?: unknown): void;
}

import { type Permit, SluiceError } from '@sluice/core';

/**
 * A permit of a Redis limiter: held on a lease that the store refreshes while you hold it.
 * `await using permit = await sem.acquire()` releases it and waits until Redis has confirmed.
 */
export interface LeasedPermit extends Permit, AsyncDisposable {
  /**
   * Aborts when the lease is lost: the holder stalled past it, Redis could not confirm it in
   * time (aborted at the local deadline, a little before Redis's), or Redis lost it (restart,
   * failover). Its reason is a LeaseLostError. Stop the work, or at least stop writing.
   */
  readonly signal: AbortSignal;
  /**
   * Fencing token: a decimal string, strictly increasing per limiter (`max(last + 1, Redis time
   * in µs)`). Pass it to the resource and have it refuse tokens below the last it accepted.
   * Compare as BigInt (or as strings of equal length). Empty for a degraded permit.
   */
  readonly fence: string;
  /** Granted by `whenUnavailable: 'allow'` or `'local'`: no cross-process guarantee, no fence. */
  readonly degraded: boolean;
}

/** The reason of a LeasedPermit's `signal`: the lease can no longer be counted on. */
export class LeaseLostError extends SluiceError {
  declare readonly code: 'LEASE_LOST';

  constructor(message = 'The lease was lost') {
    super('LEASE_LOST', message);
  }
}

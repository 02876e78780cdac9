/** What an admitted request carries: `req.sluice`. */
export interface SluiceRequestState {
  /**
   * Aborts when the client goes away before the response has finished (its connection closed
   * while the handler was still working). Pass it to `fetch`, database drivers, timers.
   */
  signal: AbortSignal;
  /** Milliseconds the request waited in the queue before it was admitted (0 when not queued). */
  waitedMs: number;
}

declare global {
  namespace Express {
    interface Request {
      /** Set by `concurrency()` once the request is admitted. */
      sluice?: SluiceRequestState;
    }
  }
}

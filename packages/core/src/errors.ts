/** Base class of every error sluice throws on purpose; `code` is stable, `message` is for people. */
export class SluiceError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A wait outlived its `timeout`. */
export class TimeoutError extends SluiceError {
  declare readonly code: 'TIMEOUT';
  readonly timeoutMs: number;

  constructor(timeoutMs: number, message = `Timed out after ${timeoutMs} ms`) {
    super('TIMEOUT', message);
    this.timeoutMs = timeoutMs;
  }
}

/** The limiter or queue was closed; `cause` is the reason given to `close(reason)`. */
export class ClosedError extends SluiceError {
  declare readonly code: 'CLOSED';

  constructor(reason?: unknown, message = 'Closed') {
    super('CLOSED', message, reason === undefined ? undefined : { cause: reason });
  }
}

/** The wait queue (or the key table) is full, so the request was refused without waiting. */
export class QueueFullError extends SluiceError {
  declare readonly code: 'QUEUE_FULL';

  constructor(message = 'Queue is full') {
    super('QUEUE_FULL', message);
  }
}

/**
 * A limiter that lives elsewhere (a shared store such as Redis) could not answer in time, so
 * nothing was decided. Adapters answer 503 with reason `unavailable`, never 429.
 */
export class UnavailableError extends SluiceError {
  declare readonly code: 'UNAVAILABLE';

  constructor(message = 'Limiter is unavailable', options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/** Injection token of the module options (`SluiceModuleOptions`). */
export const SLUICE_OPTIONS = 'SLUICE_MODULE_OPTIONS';

/** The limiter that covers every route the guard sees, unless a route names its own. */
export const DEFAULT_LIMITER = 'default';

/** Metadata keys written by the decorators. Symbol.for: shared by the ESM and CJS builds. */
export const CONCURRENCY_METADATA = Symbol.for('sluice:concurrency');
export const SKIP_CONCURRENCY_METADATA = Symbol.for('sluice:skip-concurrency');
export const RATE_LIMIT_METADATA = Symbol.for('sluice:rate-limit');
export const SKIP_RATE_LIMIT_METADATA = Symbol.for('sluice:skip-rate-limit');

/** Defaults, the same in every sluice adapter. */
export const DEFAULT_MAX_WAITING = 100;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY_AFTER_S = 1;
export const DEFAULT_CONCURRENCY_NAME = 'concurrency';
export const DEFAULT_RATE_LIMIT_NAME = 'rate-limit';

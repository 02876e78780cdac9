/** Injection token of the module options (`SluiceModuleOptions`). */
export const SLUICE_OPTIONS = 'SLUICE_MODULE_OPTIONS';

/** The limiter that covers every route the guard sees, unless a route names its own. */
export const DEFAULT_LIMITER = 'default';

/** Metadata keys written by the decorators. Symbol.for: shared by the ESM and CJS builds. */
export const CONCURRENCY_METADATA = Symbol.for('sluice:concurrency');
export const SKIP_CONCURRENCY_METADATA = Symbol.for('sluice:skip-concurrency');
export const RATE_LIMIT_METADATA = Symbol.for('sluice:rate-limit');
export const SKIP_RATE_LIMIT_METADATA = Symbol.for('sluice:skip-rate-limit');

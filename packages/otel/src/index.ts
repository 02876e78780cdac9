// @sluice/otel: OpenTelemetry metrics for sluice limiters.

export type { InstrumentableLimiter, InstrumentOptions } from './instrument.js';
export { ATTRIBUTES, DURATION_BUCKETS, instrument, METRICS } from './instrument.js';

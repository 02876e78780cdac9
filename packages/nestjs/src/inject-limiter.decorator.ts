import { Inject } from '@nestjs/common';
import { assertPolicyName } from '@sluice/core/http';

/** Names used with `@InjectLimiter`, so `forRootAsync` can offer them before options exist. */
const injectedNames = new Set<string>();

/** The injection token of the named concurrency limiter. */
export function getLimiterToken(name: string): string {
  return `SluiceLimiter:${name}`;
}

/** @internal Names seen by `@InjectLimiter` so far. */
export function injectedLimiterNames(): string[] {
  return [...injectedNames];
}

/**
 * Injects the named concurrency limiter of `SluiceModule.forRoot` (the very Semaphore the guard
 * uses), so a service call and a route can share one limit.
 *
 * @example
 * @Injectable()
 * export class ReportService {
 *   constructor(@InjectLimiter('reports') private readonly reports: Semaphore) {}
 *   render(id: string) { return this.reports.run(() => this.build(id)); }
 * }
 */
export function InjectLimiter(name: string): PropertyDecorator & ParameterDecorator {
  assertPolicyName('@InjectLimiter() name', name);
  injectedNames.add(name);
  return Inject(getLimiterToken(name));
}

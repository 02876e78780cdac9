import { assertPolicyName } from '@sluice/core/http';
import { appendMetadata, skipMetadata } from './internal/metadata.js';
import { createConcurrencyPolicy } from './internal/policies.js';
import { CONCURRENCY_METADATA, SKIP_CONCURRENCY_METADATA } from './sluice.constants.js';
import type { ConcurrencyTarget, SkipTarget } from './sluice.interfaces.js';

/**
 * Puts a controller or a route under an in-flight limit. Options make a limit of the target's
 * own that replaces "default" (on a controller, one limit shared by all its routes; a method's
 * own wins over its controller's). A name adds that limiter from `SluiceModule.forRoot`.
 * Enforced by `ConcurrencyGuard` (or `ConcurrencyInterceptor`).
 *
 * @example
 * @Controller('reports')
 * @Concurrency({ limit: 2, maxWaiting: 10, timeout: 5000 })
 * export class ReportsController {
 *   @Get('export') @Concurrency('exports') export() {}
 * }
 */
export function Concurrency(...targets: ConcurrencyTarget[]): ClassDecorator & MethodDecorator {
  if (targets.length === 0)
    throw new TypeError('Expected `@Concurrency()` to get a limiter name or options');
  for (const target of targets) {
    if (typeof target === 'string') assertPolicyName('@Concurrency() name', target);
    // Checked now so a bad option fails at startup; the limiter itself is made on first use.
    else createConcurrencyPolicy('@Concurrency()', target);
  }
  return appendMetadata(CONCURRENCY_METADATA, targets);
}

/**
 * Lets a controller or route through the concurrency guard: bare, every limiter; with names
 * (`'reports'`) or `{ reports: true }`, only those. `{ name: false }` on a method undoes its
 * controller's skip of that name.
 */
export function SkipConcurrency(...targets: SkipTarget[]): ClassDecorator & MethodDecorator {
  return skipMetadata('@SkipConcurrency()', SKIP_CONCURRENCY_METADATA, targets);
}

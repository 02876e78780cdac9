import type { Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { getLimiterToken, injectedLimiterNames } from './inject-limiter.decorator.js';
import { SLUICE_OPTIONS } from './sluice.constants.js';
import type {
  SluiceModuleAsyncOptions,
  SluiceModuleOptions,
  SluiceOptionsFactory,
} from './sluice.interfaces.js';
import { SluiceLimiters } from './sluice-limiters.js';
import { SluiceRejectionFilter } from './sluice-rejection.filter.js';

/** Writes the refusals (see SluiceRejectionFilter); registered globally, never exported. */
export const SluiceRejectionFilterProvider: Provider = {
  provide: APP_FILTER,
  useClass: SluiceRejectionFilter,
};

/** The limiters, built (and checked) once from the module options. */
export const SluiceLimitersProvider: Provider = {
  provide: SluiceLimiters,
  useFactory: (options: SluiceModuleOptions) => new SluiceLimiters(options),
  inject: [SLUICE_OPTIONS],
};

/** One provider per limiter name, for `@InjectLimiter(name)`. */
export function createLimiterProviders(names: Iterable<string>): Provider[] {
  return [...new Set(names)].map((name) => ({
    provide: getLimiterToken(name),
    useFactory: (limiters: SluiceLimiters) => limiters.concurrency(name),
    inject: [SluiceLimiters],
  }));
}

export function createSluiceProviders(options: SluiceModuleOptions): Provider[] {
  return [
    { provide: SLUICE_OPTIONS, useValue: options },
    SluiceLimitersProvider,
    ...createLimiterProviders(Object.keys(options.concurrency ?? {})),
  ];
}

export function createSluiceAsyncProviders(options: SluiceModuleAsyncOptions): Provider[] {
  const providers: Provider[] = [SluiceLimitersProvider];
  if (options.useFactory !== undefined) {
    providers.push({
      provide: SLUICE_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    });
  } else {
    const factory = options.useExisting ?? options.useClass;
    if (factory === undefined) {
      throw new TypeError(
        'Expected `SluiceModule.forRootAsync` options to have useFactory, useClass or useExisting',
      );
    }
    providers.push({
      provide: SLUICE_OPTIONS,
      useFactory: (instance: SluiceOptionsFactory) => instance.createSluiceOptions(),
      inject: [factory],
    });
    if (options.useClass !== undefined) providers.push({ provide: factory, useClass: factory });
  }
  // The options do not exist yet: offer every name @InjectLimiter has used, plus the listed ones.
  providers.push(
    ...createLimiterProviders([...injectedLimiterNames(), ...(options.limiterNames ?? [])]),
  );
  return providers;
}

import { type DynamicModule, Module } from '@nestjs/common';
import { assertOptionsObject } from '@sluice/core/http';
import type { SluiceModuleAsyncOptions, SluiceModuleOptions } from './sluice.interfaces.js';
import {
  createSluiceAsyncProviders,
  createSluiceProviders,
  SluiceRejectionFilterProvider,
} from './sluice.providers.js';

/**
 * Named limiters for the whole application (a global module: the guards resolve anywhere).
 *
 * @example
 * @Module({
 *   imports: [SluiceModule.forRoot({ concurrency: { default: { limit: 100 } } })],
 *   providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }],
 * })
 * export class AppModule {}
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest module is a class; forRoot/forRootAsync are how Nest configures one.
export class SluiceModule {
  static forRoot(options: SluiceModuleOptions = {}): DynamicModule {
    assertOptionsObject('options', options);
    const providers = createSluiceProviders(options);
    return {
      module: SluiceModule,
      global: true,
      providers: [...providers, SluiceRejectionFilterProvider],
      exports: providers,
    };
  }

  static forRootAsync(options: SluiceModuleAsyncOptions): DynamicModule {
    assertOptionsObject('options', options);
    const providers = createSluiceAsyncProviders(options);
    return {
      module: SluiceModule,
      global: true,
      imports: options.imports ?? [],
      providers: [...providers, SluiceRejectionFilterProvider],
      exports: providers,
    };
  }
}

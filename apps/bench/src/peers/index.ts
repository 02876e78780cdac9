import type { Entry } from '../types.js';
import { asyncMutex } from './async-mutex.js';
import { asyncSema } from './async-sema.js';
import { floor } from './floor.js';
import { henrygdSemaphore } from './henrygd-semaphore.js';
import { idealRing, idealRingPermit } from './ideal-ring.js';
import type { Capability, Library } from './library.js';
import { limiterLib } from './limiter.js';
import { pLimitLib } from './p-limit.js';
import { pQueueLib } from './p-queue.js';
import { permitFloor } from './permit-floor.js';
import { sluice } from './sluice.js';

export { sluiceLock, sluiceSignalJobs } from './sluice.js';
export { floor, idealRing, idealRingPermit, permitFloor, sluice };

/** The concurrency peers, in the order the tables list them. */
export const semaphorePeers: Library[] = [
  henrygdSemaphore,
  asyncSema,
  asyncMutex,
  pLimitLib,
  pQueueLib,
];

/** Every library whose version the report records. */
export const allLibraries: Library[] = [sluice, ...semaphorePeers, limiterLib];

export { limiterLib, pLimitLib, pQueueLib };

/** A row per library for one capability: its own mapping, or n/a with its reason. */
export function entries<A extends unknown[]>(
  libraries: readonly Library[],
  capability: Capability,
  ...args: A
): Entry[] {
  return libraries.map((library) => {
    const make = library[capability] as ((...a: A) => Entry) | undefined;
    if (make) return make.apply(library, args);
    return {
      library: library.name,
      role: library.role,
      api: '—',
      na: library.missing?.[capability] ?? 'not supported',
    };
  });
}

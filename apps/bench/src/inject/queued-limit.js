// @ts-check
// Plain JavaScript so the Nest variants (run without tsx, see ../http/serve.js) can share it.
import { Semaphore } from '@sluice/core';

/**
 * The limit of the `queued` rows: a Semaphore of 10 under more concurrent requests than that.
 * `seen()` is called by the handler (admitted requests only) and notes how many were waiting;
 * `check()` says so if nobody ever queued, or if a permit was not given back.
 */
export function queuedLimit() {
  const sem = new Semaphore(10, { maxWaiting: 100_000 });
  let mostWaiting = 0;
  return {
    sem,
    seen() {
      if (sem.waiting > mostWaiting) mostWaiting = sem.waiting;
    },
    /** @returns {string | undefined} */
    check() {
      const { maxInUse, inUse } = sem.stats();
      return mostWaiting === 0 || maxInUse !== 10 || inUse !== 0
        ? `expected queueing at limit 10: most waiting ${mostWaiting}, maxInUse ${maxInUse}, inUse ${inUse}`
        : undefined;
    },
  };
}

import { type Library, timed } from './library.js';

const self = { name: 'floor: async permit', role: 'floor' } as const;

/** Shaped like a sluice Permit (weight, released, idempotent release, dispose) and does nothing. */
class FloorPermit {
  readonly weight = 1;
  released = false;

  release(): void {
    this.released = true;
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

// A do-nothing `async` acquire that returns a fresh permit-shaped object: the least any
// `acquire(): Promise<Permit>` can cost (one object, one promise resolved with it, and the
// `then` lookup V8 makes on an object it resolves a promise with). No semaphore logic at all.
const acquire = async (): Promise<FloorPermit> => new FloorPermit();

export const permitFloor: Library = {
  ...self,
  uncontended: () =>
    timed(self, 'await (async () => new Permit())(); release()', (n) => {
      let released = 0;
      return {
        async run() {
          for (let i = 0; i < n; i++) {
            const permit = await acquire();
            permit.release();
            if (permit.released) released++;
          }
        },
        verify: () => (released === n ? undefined : `released ${released}/${n}`),
      };
    }),
};

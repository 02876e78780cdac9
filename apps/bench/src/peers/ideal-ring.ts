import { type Library, timed } from './library.js';

type Wake = (value: RingPermit | undefined) => void;

const RESOLVED: Promise<RingPermit | undefined> = Promise.resolve(undefined);

/** What the permit-returning ideal ring resolves with: a fresh two-field object, like sluice's. */
class RingPermit {
  sem: IdealRing | null;
  readonly weight = 1;

  constructor(sem: IdealRing) {
    this.sem = sem;
  }

  release(): void {
    const sem = this.sem;
    if (sem !== null) {
      this.sem = null;
      sem.release();
    }
  }
}

// The executor is module-level (no closure per waiter): the scratch variable says which ring.
let pushing: IdealRing | null = null;
function enqueue(wake: Wake): void {
  pushing!.push(wake);
}

/**
 * The minimal FIFO semaphore on a ring buffer: a power-of-two array of resolve functions, no
 * cancellation, no weights, no timeouts, no stats. The floor for a long-lived semaphore's
 * hand-off: what is left when a semaphore only has to queue and wake.
 */
export class IdealRing {
  slots: (Wake | undefined)[] = new Array<Wake | undefined>(16).fill(undefined);
  mask = 15;
  head = 0;
  size = 0;
  free: number;
  readonly permits: boolean;

  constructor(capacity: number, permits: boolean) {
    this.free = capacity;
    this.permits = permits;
  }

  acquire(): Promise<RingPermit | undefined> {
    if (this.size === 0 && this.free > 0) {
      this.free--;
      return this.permits ? Promise.resolve(new RingPermit(this)) : RESOLVED;
    }
    pushing = this;
    const promise = new Promise<RingPermit | undefined>(enqueue);
    pushing = null;
    return promise;
  }

  push(wake: Wake): void {
    if (this.size === this.slots.length) this.grow();
    this.slots[(this.head + this.size) & this.mask] = wake;
    this.size++;
  }

  release(): void {
    if (this.size === 0) {
      this.free++;
      return;
    }
    const wake = this.slots[this.head]!;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    wake(this.permits ? new RingPermit(this) : undefined);
  }

  grow(): void {
    const slots = new Array<Wake | undefined>(this.slots.length * 2).fill(undefined);
    for (let i = 0; i < this.size; i++) slots[i] = this.slots[(this.head + i) & this.mask];
    this.slots = slots;
    this.mask = slots.length - 1;
    this.head = 0;
  }
}

function burstOf(self: Pick<Library, 'name' | 'role'>, permits: boolean): Library['burst'] {
  return (tasks) => {
    // One semaphore for every run of the row: long-lived, as in a server.
    const sem = new IdealRing(1, permits);
    return timed(
      self,
      permits ? 'await acquire(); permit.release()' : 'await acquire(); release()',
      (n) => {
        const per = Math.ceil(n / tasks);
        const worker = permits
          ? async (): Promise<void> => {
              for (let i = 0; i < per; i++) (await sem.acquire())!.release();
            }
          : async (): Promise<void> => {
              for (let i = 0; i < per; i++) {
                await sem.acquire();
                sem.release();
              }
            };
        return {
          async run() {
            const all = new Array<Promise<void>>(tasks);
            for (let t = 0; t < tasks; t++) all[t] = worker();
            await Promise.all(all);
          },
          verify: () =>
            sem.free === 1 && sem.size === 0 ? undefined : `free ${sem.free}, queued ${sem.size}`,
        };
      },
    );
  };
}

const ringSelf = { name: 'floor: ideal ring', role: 'floor' } as const;
const ringPermitSelf = { name: 'floor: ideal ring + permit', role: 'floor' } as const;

export const idealRing: Library = { ...ringSelf, burst: burstOf(ringSelf, false) };

/** The same ring resolving a fresh permit object: separates the cost of `Promise<Permit>`. */
export const idealRingPermit: Library = {
  ...ringPermitSelf,
  burst: burstOf(ringPermitSelf, true),
};

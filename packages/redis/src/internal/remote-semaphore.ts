// The waiting, granting and releasing of one Redis semaphore (a RedisSemaphore, a RedisLock, or
// one key of a RedisKeyedSemaphore). Redis decides. A queued waiter is granted by the script that
// frees the weight, which sends the grant by message; without the message, the waiter's next
// acquire (at the next lease expiry, or at a backed-off, jittered poll) returns that grant.

import {
  ClosedError,
  type Permit,
  QueueFullError,
  Semaphore,
  TimeoutError,
  UnavailableError,
  type WaitOptions,
} from '@sluice/core';
import { type LeasedPermit, LeaseLostError } from '../leased-permit.js';
import { type RedisStore, type StoreInternals, storeInternals } from '../redis-store.js';
import {
  closeRelease,
  deadline,
  expired,
  type HolderHandle,
  LeaseKeeper,
  lost,
  refreshed,
  type WaiterHandle,
} from './lease-keeper.js';
import { type Listeners, rejectionReason } from './listeners.js';
import {
  acquireCall,
  DENIED,
  FULL,
  GRANTED,
  leaveCall,
  MISMATCH,
  type SemaphoreKeys,
} from './semaphore-scripts.js';

const now = () => performance.now();
const FIRST_POLL = 50;
const MAX_POLL = 1000;
const RELEASE_RETRY = 50;

/** Process-local counters of a limiter (Redis keeps the gauges). */
export interface Counters {
  acquired: number;
  timedOut: number;
  aborted: number;
  rejected: number;
}

export interface RemoteSemaphoreSettings {
  store: RedisStore;
  at: SemaphoreKeys;
  capacity: number;
  lease: number;
  waiterTtl: number;
  maxWaiting: number;
  counters: Counters;
  /** The limiter's subscribers (shared by every key of a keyed limiter). */
  listeners: Listeners;
  /** The in-memory limiter of `whenUnavailable: 'local'` (made on first use). */
  local: () => Semaphore;
  /** Nothing of this semaphore is held or waiting in this process any more. */
  onIdle?: () => void;
}

function jitter(ms: number): number {
  return ms * (0.75 + Math.random() * 0.5);
}

export class RemoteSemaphore {
  readonly #s: RemoteSemaphoreSettings;
  readonly #keeper: LeaseKeeper;
  readonly #internals: StoreInternals;
  readonly #waiting = new Set<(error: unknown) => void>();
  #active = 0;
  #closed: ClosedError | undefined;

  constructor(settings: RemoteSemaphoreSettings) {
    this.#s = settings;
    this.#keeper = LeaseKeeper.of(settings.store);
    this.#internals = storeInternals(settings.store);
  }

  get settings(): RemoteSemaphoreSettings {
    return this.#s;
  }

  get keeper(): LeaseKeeper {
    return this.#keeper;
  }

  /** Holders and waiters of this process. */
  get active(): number {
    return this.#active;
  }

  close(reason?: unknown): void {
    if (this.#closed) return;
    this.#closed = new ClosedError(reason, 'Semaphore is closed');
    for (const fail of [...this.#waiting]) fail(new ClosedError(reason, 'Semaphore is closed'));
  }

  /** `key`: the caller's key of a keyed limiter, for its events. */
  acquire(weight: number, options: WaitOptions | undefined, key?: unknown): Promise<LeasedPermit> {
    const s = this.#s;
    const signal = options?.signal;
    const timeout = options?.timeout;
    if (this.#closed || this.#keeper.closed) {
      s.listeners.rejected('closed', weight, 0, key);
      return Promise.reject(this.#closed ?? new ClosedError(undefined, 'RedisStore is closed'));
    }
    if (signal?.aborted) {
      s.counters.aborted++;
      s.listeners.rejected('aborted', weight, 0, key);
      return Promise.reject(signal.reason);
    }
    this.#active++;
    return new Promise<LeasedPermit>((resolve, reject) => {
      const id = this.#keeper.newId();
      const started = now();
      let settled = false;
      let sent = false;
      let woken = false;
      /** Added to the keeper's queued waiters (heartbeats), not only listened for. */
      let queued = false;
      /** When the first acquire was sent: no grant for this id can be older. */
      let firstSent = 0;
      let wakeUp: (() => void) | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;

      const leave = () => {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (timer !== undefined) clearTimeout(timer);
        this.#keeper.removeWaiter(s.at, id, queued);
        this.#waiting.delete(fail);
        wakeUp?.();
      };
      const fail = (error: unknown, counter?: keyof Counters) => {
        if (settled) return;
        leave();
        if (counter) s.counters[counter]++;
        const reason = rejectionReason(error, counter === 'aborted');
        if (reason !== undefined) s.listeners.rejected(reason, weight, now() - started, key);
        // Whatever an acquire already sent is undone by this leave: it runs after it, on the
        // same connection (a grant that arrives late is released, a queue entry removed).
        if (sent) void this.confirmLeave(id);
        this.#idle();
        reject(error);
      };
      const onAbort = () => fail(signal!.reason, 'aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout !== undefined && timeout > 0) {
        timer = setTimeout(() => fail(new TimeoutError(timeout), 'timedOut'), timeout);
      }
      this.#waiting.add(fail);
      const grant = (fence: string, sentAt: number, leaseLeft: number) => {
        leave();
        s.counters.acquired++;
        const t = now();
        if (s.listeners.active) {
          s.listeners.emit({ type: 'acquired', weight, waitedMs: t - started }, key);
        }
        resolve(new RemotePermit(this, id, weight, fence, sentAt, leaseLeft, key, t));
      };
      const waiter: WaiterHandle = {
        granted: (fence, leaseLeft, serverUs) => {
          if (settled) return;
          // The lease started when Redis read `serverUs`: on our clock no later than the
          // estimate, no earlier than our first send, and not in the future.
          const at = this.#internals.earliestLocal(serverUs) ?? firstSent;
          grant(fence, Math.min(now(), Math.max(firstSent, at)), leaseLeft);
        },
        wake: () => {
          woken = true;
          wakeUp?.();
        },
        close: (error: Error) => fail(error),
      };
      if (timeout !== 0) this.#keeper.listen(id, waiter);

      const nap = (delay: number) =>
        new Promise<void>((r) => {
          const t = setTimeout(r, delay);
          wakeUp = () => {
            clearTimeout(t);
            r();
          };
        }).then(() => {
          wakeUp = undefined;
        });

      const loop = async () => {
        let poll = FIRST_POLL;
        // Set once queued: when Redis last answered this waiter.
        let answered: number | undefined;
        while (!settled) {
          const sentAt = now();
          if (!sent) firstSent = sentAt;
          sent = true;
          let reply: readonly number[];
          try {
            reply = await acquireCall(s.store, s.at, {
              capacity: s.capacity,
              weight,
              id,
              lease: s.lease,
              waiterTtl: s.waiterTtl,
              queue: timeout !== 0,
              maxWaiting: s.maxWaiting,
              channel: this.#keeper.channel(s.at),
            });
          } catch (error) {
            if (settled) return;
            // A queued waiter rides out a short outage (a restart, a failover) as long as its
            // entry could still be alive; then it queues again, or gives up like a new acquire.
            if (
              error instanceof UnavailableError &&
              answered !== undefined &&
              now() - answered < s.waiterTtl
            ) {
              await nap(jitter(poll));
              poll = Math.min(poll * 2, MAX_POLL);
              continue;
            }
            if (error instanceof UnavailableError && s.store.whenUnavailable !== 'reject') {
              leave();
              void this.confirmLeave(id);
              this.#degraded(weight, signal, timeout, started, key).then(resolve, (e: unknown) => {
                const reason = rejectionReason(e, signal?.aborted === true);
                if (reason !== undefined)
                  s.listeners.rejected(reason, weight, now() - started, key);
                this.#idle();
                reject(e);
              });
              return;
            }
            fail(error);
            return;
          }
          if (settled) return;
          const [status, , a = 0, b = 0] = reply;
          if (status === GRANTED) return grant(String(a), sentAt, b);
          if (status === DENIED)
            return fail(new TimeoutError(0, 'No permit free now (timeout 0)'), 'timedOut');
          if (status === FULL) {
            return fail(
              new QueueFullError(`Queue is full (maxWaiting ${s.maxWaiting})`),
              'rejected',
            );
          }
          if (status === MISMATCH) {
            return fail(
              new RangeError(
                `Expected \`capacity\` to match the one other processes use for this limiter (${a}), got ${s.capacity}`,
              ),
            );
          }
          // Queued: sleep until a message, the next lease expiry, or the poll, whichever is first.
          if (answered === undefined && s.listeners.active) {
            s.listeners.emit({ type: 'queued', weight }, key);
          }
          answered = now();
          queued = true;
          this.#keeper.addWaiter(s.at, s.lease, s.waiterTtl, id, waiter);
          // The expiry timer is never late (a few ms of jitter spread the herd); the poll is.
          const untilExpiry = a >= 0 ? a + 1 + Math.random() * 4 : Number.POSITIVE_INFINITY;
          // Woken while the acquire was in flight (the entry is gone): ask again at once.
          if (!woken) await nap(Math.min(jitter(poll), untilExpiry));
          poll = woken ? FIRST_POLL : Math.min(poll * 2, MAX_POLL);
          woken = false;
        }
      };
      loop().catch((error: unknown) => fail(error));
    });
  }

  /** Gives back what the process held: the `released` event, then the idle check. */
  released(weight: number, since: number, key: unknown): void {
    const listeners = this.#s.listeners;
    if (listeners.active) listeners.emit({ type: 'released', weight, heldMs: now() - since }, key);
    this.#idle();
  }

  #idle(): void {
    if (--this.#active === 0) this.#s.onIdle?.();
  }

  /**
   * Sends the idempotent leave until Redis confirms it, or until what it would remove has
   * expired by itself anyway (a lease, or a late grant's lease, plus a waiter TTL). A leave that
   * ran late (STALE) or got no answer is sent again, backed off. Failures go to the error hook.
   */
  async confirmLeave(id: string): Promise<void> {
    const { store, at, lease, waiterTtl } = this.#s;
    const giveUpAt = now() + lease + waiterTtl;
    let pause = RELEASE_RETRY;
    for (;;) {
      try {
        await leaveCall(store, at, id);
        return;
      } catch (error) {
        if (error instanceof ClosedError) return;
        if (now() + pause > giveUpAt) {
          this.#internals.reportError(error);
          return;
        }
        await new Promise((r) => setTimeout(r, jitter(pause)));
        pause = Math.min(pause * 2, MAX_POLL);
      }
    }
  }

  async #degraded(
    weight: number,
    signal: AbortSignal | undefined,
    timeout: number | undefined,
    started: number,
    key: unknown,
  ): Promise<LeasedPermit> {
    const s = this.#s;
    let local: Permit | undefined;
    if (s.store.whenUnavailable !== 'allow') {
      const left = timeout === undefined ? undefined : Math.max(0, timeout - (now() - started));
      local = await s.local().acquire({ weight, signal, timeout: left });
    }
    s.counters.acquired++;
    const granted = now();
    s.listeners.emit({ type: 'acquired', weight, waitedMs: granted - started }, key);
    return new DegradedPermit(weight, local, () => this.released(weight, granted, key));
  }
}

/**
 * A granted permit: held on a lease that the store's LeaseKeeper refreshes and whose local
 * deadline it watches. Its AbortController is made on the first read of `signal` (most holders
 * never read it); a lease lost before then gives an already aborted signal.
 */
class RemotePermit implements LeasedPermit, HolderHandle {
  readonly weight: number;
  readonly fence: string;
  readonly degraded = false;
  [deadline] = 0;
  readonly #owner: RemoteSemaphore;
  readonly #id: string;
  readonly #key: unknown;
  /** When it was granted (monotonic ms), for the `released` event. */
  readonly #granted: number;
  #controller: AbortController | undefined;
  #lost: LeaseLostError | undefined;
  #released = false;
  #confirmation: Promise<void> | undefined;

  constructor(
    owner: RemoteSemaphore,
    id: string,
    weight: number,
    fence: string,
    sentAt: number,
    leaseLeft: number,
    key: unknown,
    granted: number,
  ) {
    this.#owner = owner;
    this.#id = id;
    this.weight = weight;
    this.fence = fence;
    this.#key = key;
    this.#granted = granted;
    this.#arm(sentAt, leaseLeft);
    const s = owner.settings;
    owner.keeper.addHolder(s.at, s.lease, s.waiterTtl, id, this, leaseLeft, granted);
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#lost !== undefined) this.#controller.abort(this.#lost);
    }
    return this.#controller.signal;
  }

  get released(): boolean {
    return this.#released;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    const owner = this.#owner;
    owner.keeper.removeHolder(owner.settings.at, this.#id);
    owner.released(this.weight, this.#granted, this.#key);
    this.#confirmation = owner.confirmLeave(this.#id);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return this.#confirmation!;
  }

  [refreshed](from: number, lease: number): void {
    if (this.#released || this.#lost !== undefined) return;
    this.#arm(from, lease);
    this.#owner.keeper.watch(this[deadline]);
  }

  [lost](): void {
    this.#lose('Redis no longer holds the lease (it expired or Redis lost it)');
  }

  [expired](): void {
    this.#lose('The lease could not be confirmed before its deadline');
  }

  [closeRelease](): Promise<void> {
    this.release();
    return this.#confirmation!;
  }

  // The local deadline: Redis set the lease no earlier than we sent, so send time + lease is
  // never later than Redis's deadline; 1 % covers the two clocks' rates, and a margin (5 % of
  // the lease, at most 100 ms) a timer that fires late on a busy event loop.
  #arm(from: number, lease: number): void {
    this[deadline] = from + lease * 0.99 - Math.min(lease * 0.05, 100);
  }

  #lose(message: string): void {
    if (this.#released || this.#lost !== undefined) return;
    this.#lost = new LeaseLostError(message);
    const owner = this.#owner;
    owner.keeper.removeHolder(owner.settings.at, this.#id);
    this.#controller?.abort(this.#lost);
  }
}

/** Granted without Redis ('allow': nothing held anywhere; 'local': an in-memory permit). */
class DegradedPermit implements LeasedPermit {
  readonly weight: number;
  readonly fence = '';
  readonly degraded = true;
  readonly #local: Permit | undefined;
  #signal: AbortSignal | undefined;
  readonly #done: () => void;
  #released = false;

  constructor(weight: number, local: Permit | undefined, done: () => void) {
    this.weight = weight;
    this.#local = local;
    this.#done = done;
  }

  /** Never aborts: a degraded permit has no lease to lose. */
  get signal(): AbortSignal {
    this.#signal ??= new AbortController().signal;
    return this.#signal;
  }

  get released(): boolean {
    return this.#released;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#local?.release();
    this.#done();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }
}

// One per store: keeps every lease and every queued waiter of the process alive in one batched
// script per tick, and owns the store's one pub/sub connection, on which the scripts that grant
// a queued waiter send it its grant. Nothing here is needed for correctness: a lost refresh
// reply makes holders abort at their local deadline, and a lost grant message is covered by
// each waiter's poll (its acquire returns the grant already made).

import { ClosedError, UnavailableError } from '@sluice/core';
import { type RedisStore, storeInternals } from '../redis-store.js';
import type { Connection } from './connection.js';
import { type KeepAliveGroup, keepAliveCall, type SemaphoreKeys } from './semaphore-scripts.js';

export interface HolderHandle {
  /** Redis extended the lease at (at the latest) `sentAt` by `lease` ms. */
  refreshed(sentAt: number, lease: number): void;
  /** Redis no longer has the lease (it expired, or Redis lost it). */
  lost(): void;
  /** The store is closing: release, and resolve once Redis has confirmed (or given up). */
  closeRelease(): Promise<void>;
}

export interface WaiterHandle {
  /**
   * Redis granted this waiter (a message): `fence`, the lease left in ms when Redis's clock read
   * `serverUs` (µs).
   */
  granted(fence: string, leaseLeft: number, serverUs: number): void;
  /** Wake up and send the acquire again (the entry is gone from the queue). */
  wake(): void;
  /** The store is closing: reject with ClosedError. */
  close(error: Error): void;
}

interface Group {
  at: SemaphoreKeys;
  lease: number;
  waiterTtl: number;
  holders: Map<string, HolderHandle>;
  waiters: Map<string, WaiterHandle>;
}

const now = () => performance.now();
const keepers = new WeakMap<RedisStore, LeaseKeeper>();

export class LeaseKeeper {
  static of(store: RedisStore): LeaseKeeper {
    let keeper = keepers.get(store);
    if (keeper === undefined) {
      keeper = new LeaseKeeper(store);
      keepers.set(store, keeper);
    }
    return keeper;
  }

  readonly #store: RedisStore;
  /** By the limiter's (or key's) first key. */
  readonly #groups = new Map<string, Group>();
  /** Every queued waiter of the store, by id: what a wake-up message names. */
  readonly #waiters = new Map<string, WaiterHandle>();
  /** This store's part of its channels' names: grants for its waiters reach only it. */
  readonly #token = crypto.randomUUID();
  /** Limiter channel -> this store's channel for it. */
  readonly #channels = new Map<string, string>();
  readonly #subscribed = new Set<string>();
  #subscriber: Connection | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When #timer fires (monotonic ms). */
  #timerAt = Number.POSITIVE_INFINITY;
  #ticking = false;
  /** A tick is wanted by this time (a lease shorter than the period came in during a tick). */
  #dueAt = Number.POSITIVE_INFINITY;
  #closed = false;

  private constructor(store: RedisStore) {
    this.#store = store;
    storeInternals(store).onClose(() => this.#close());
  }

  get closed(): boolean {
    return this.#closed || this.#store.closed;
  }

  addHolder(
    at: SemaphoreKeys,
    lease: number,
    waiterTtl: number,
    id: string,
    handle: HolderHandle,
    leaseLeft = lease,
  ): void {
    this.#group(at, lease, waiterTtl).holders.set(id, handle);
    // A grant handed over by message may carry less than a full lease: refresh it in time.
    this.#schedule(leaseLeft < lease ? now() + leaseLeft / 3 : undefined);
  }

  removeHolder(at: SemaphoreKeys, id: string): void {
    this.#forget(at, (g) => g.holders.delete(id));
  }

  addWaiter(
    at: SemaphoreKeys,
    lease: number,
    waiterTtl: number,
    id: string,
    handle: WaiterHandle,
  ): void {
    this.#group(at, lease, waiterTtl).waiters.set(id, handle);
    this.#waiters.set(id, handle);
    this.#subscribe(at.channel);
    this.#schedule();
  }

  /** The channel on which this store hears grants for its waiters of `at`. */
  channel(at: SemaphoreKeys): string {
    let channel = this.#channels.get(at.channel);
    if (channel === undefined) {
      channel = `${at.channel}:${this.#token}`;
      this.#channels.set(at.channel, channel);
    }
    return channel;
  }

  /** Routes grant messages for `id` to `handle` (before its first acquire is sent). */
  listen(id: string, handle: WaiterHandle): void {
    this.#waiters.set(id, handle);
  }

  removeWaiter(at: SemaphoreKeys, id: string): void {
    this.#waiters.delete(id);
    this.#forget(at, (g) => g.waiters.delete(id));
  }

  #group(at: SemaphoreKeys, lease: number, waiterTtl: number): Group {
    let group = this.#groups.get(at.keys[0]);
    if (group === undefined) {
      group = { at, lease, waiterTtl, holders: new Map(), waiters: new Map() };
      this.#groups.set(at.keys[0], group);
    }
    return group;
  }

  #forget(at: SemaphoreKeys, remove: (g: Group) => void): void {
    const group = this.#groups.get(at.keys[0]);
    if (group === undefined) return;
    remove(group);
    if (group.holders.size === 0 && group.waiters.size === 0) this.#groups.delete(at.keys[0]);
  }

  #subscribe(base: string): void {
    if (this.#subscribed.has(base) || this.closed) return;
    this.#subscribed.add(base);
    const channel = this.#channels.get(base) ?? `${base}:${this.#token}`;
    this.#subscriber ??= storeInternals(this.#store).duplicateConnection();
    const subscriber = this.#subscriber;
    // `id fence leaseLeft serverUs` (see grantHeads in semaphore-scripts.ts).
    const onMessage = (message: string) => {
      const [id = '', fence = '', leaseLeft, serverUs] = message.split(' ');
      const waiter = this.#waiters.get(id);
      if (waiter === undefined) return;
      if (serverUs === undefined) waiter.wake();
      else waiter.granted(fence, Number(leaseLeft), Number(serverUs));
    };
    // Subscribing waits for the connection; until then (or if it fails) waiters poll. Grants
    // sent before the subscription took effect were not heard: the waiters ask again at once,
    // in the order they queued.
    void subscriber
      .waitReady(this.#store.commandTimeout * 4)
      .then(() => subscriber.subscribe(channel, onMessage))
      .then(() => {
        for (const group of this.#groups.values()) {
          if (group.at.channel !== base) continue;
          for (const waiter of [...group.waiters.values()]) waiter.wake();
        }
      })
      .catch((error: unknown) => {
        this.#subscribed.delete(base);
        storeInternals(this.#store).reportError(error);
      });
  }

  /** Every third of the shortest lease or waiter TTL in use. */
  #period(): number {
    let period = Number.POSITIVE_INFINITY;
    for (const g of this.#groups.values()) {
      if (g.holders.size > 0) period = Math.min(period, g.lease / 3);
      if (g.waiters.size > 0) period = Math.min(period, g.waiterTtl / 3);
    }
    return period;
  }

  /** Arms the tick for the next period, or for `dueAt` if that is sooner. */
  #schedule(dueAt = Number.POSITIVE_INFINITY): void {
    if (this.closed) return;
    if (this.#ticking) {
      this.#dueAt = Math.min(this.#dueAt, dueAt);
      return;
    }
    const period = this.#period();
    if (!Number.isFinite(period)) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    const t = now();
    const at = Math.min(dueAt, this.#dueAt, t + period);
    this.#dueAt = Number.POSITIVE_INFINITY;
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return;
      clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        void this.#tick();
      },
      Math.max(0, at - t),
    );
    this.#timer.unref?.();
  }

  async #tick(): Promise<void> {
    const groups: Array<KeepAliveGroup & { group: Group }> = [];
    for (const group of this.#groups.values()) {
      groups.push({
        group,
        at: group.at,
        lease: group.lease,
        waiterTtl: group.waiterTtl,
        holders: [...group.holders.keys()],
        waiters: [...group.waiters.keys()],
      });
    }
    if (groups.length === 0) return;
    this.#ticking = true;
    const sentAt = now();
    try {
      const reply = await keepAliveCall(this.#store, groups);
      let i = 2;
      for (const g of groups) {
        for (const id of g.holders) {
          const handle = g.group.holders.get(id);
          if (reply[i++] === 1) handle?.refreshed(sentAt, g.lease);
          else handle?.lost();
        }
        for (const id of g.waiters) {
          if (reply[i++] !== 1) g.group.waiters.get(id)?.wake();
        }
      }
    } catch (error) {
      // Unavailable: not a lost lease. Holders keep their permits until their local deadline.
      if (!(error instanceof UnavailableError || error instanceof ClosedError)) {
        storeInternals(this.#store).reportError(error);
      }
    } finally {
      this.#ticking = false;
      this.#schedule();
    }
  }

  async #close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const releases: Promise<void>[] = [];
    const error = new ClosedError(undefined, 'RedisStore is closed');
    for (const group of [...this.#groups.values()]) {
      for (const waiter of [...group.waiters.values()]) waiter.close(error);
      for (const holder of [...group.holders.values()]) releases.push(holder.closeRelease());
    }
    // Confirmed releases, but bounded: with Redis gone the leases expire by themselves.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(releases),
      new Promise((r) => {
        timer = setTimeout(r, this.#store.commandTimeout * 2);
      }),
    ]);
    clearTimeout(timer);
    await this.#subscriber?.close(this.#store.commandTimeout);
  }
}

// One per store: keeps every lease and every queued waiter of the process alive in one batched
// script per tick, watches every holder's local deadline with one timer, and owns the store's
// one pub/sub connection, on which the scripts that grant a queued waiter send it its grant. A
// lost refresh reply makes holders abort at their local deadline, and a lost grant message is
// covered by each waiter's poll (its acquire returns the grant already made).

import { randomBytes } from 'node:crypto';
import { ClosedError, UnavailableError } from '@sluice/core';
import { type RedisStore, storeInternals } from '../redis-store.js';
import type { Connection } from './connection.js';
import { type KeepAliveGroup, keepAliveCall, type SemaphoreKeys } from './semaphore-scripts.js';

// A holder's hooks are symbol-keyed: the handle is the permit the user holds (RemotePermit), and
// these are the keeper's to call, not theirs.
export const deadline = Symbol('deadline');
export const refreshed = Symbol('refreshed');
export const lost = Symbol('lost');
export const expired = Symbol('expired');
export const closeRelease = Symbol('closeRelease');

export interface HolderHandle {
  /**
   * The local deadline (monotonic ms): not confirmed by then, the lease is lost (`expired`). The
   * holder moves it only later (on `refreshed`); an earlier one goes through `watch`.
   */
  readonly [deadline]: number;
  /** Redis extended the lease at (at the latest) `sentAt` by `lease` ms. */
  [refreshed](sentAt: number, lease: number): void;
  /** Redis no longer has the lease (it expired, or Redis lost it). */
  [lost](): void;
  /** The local deadline passed without a confirmed refresh. */
  [expired](): void;
  /** The store is closing: release, and resolve once Redis has confirmed (or given up). */
  [closeRelease](): Promise<void>;
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
/** Node's timers run whole milliseconds and may fire a fraction of one early. */
const EARLY = 1;
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
  /** Permit ids: unique per store (96 random bits) and cheap (a counter). */
  readonly #idPrefix = `${randomBytes(12).toString('base64url')}.`;
  #ids = 0;
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
  /** One timer for every holder's local deadline, armed for the earliest (or earlier). */
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineAt = Number.POSITIVE_INFINITY;
  #closed = false;

  private constructor(store: RedisStore) {
    this.#store = store;
    storeInternals(store).onClose(() => this.#close());
  }

  get closed(): boolean {
    return this.#closed || this.#store.closed;
  }

  /**
   * A new permit id, made before the first send: a retried acquire is the same acquire. Unique
   * across processes by the store's random part.
   */
  newId(): string {
    return this.#idPrefix + (this.#ids++).toString(36);
  }

  /** `t`: now (monotonic ms), as the caller just read it. */
  addHolder(
    at: SemaphoreKeys,
    lease: number,
    waiterTtl: number,
    id: string,
    handle: HolderHandle,
    leaseLeft: number,
    t: number,
  ): void {
    this.#group(at, lease, waiterTtl).holders.set(id, handle);
    this.watch(handle[deadline]);
    // Refreshed every third of the lease; a grant handed over by message may carry less than a
    // full lease: refresh it within a third of what it has.
    this.#scheduleBy(t + Math.min(leaseLeft, lease) / 3);
  }

  removeHolder(at: SemaphoreKeys, id: string): void {
    this.#groups.get(at.keys[0])?.holders.delete(id);
  }

  /** A holder's local deadline moved earlier than the timer may be armed for. */
  watch(deadline: number): void {
    if (deadline >= this.#deadlineAt || this.#closed) return;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineAt = deadline;
    this.#deadlineTimer = setTimeout(() => this.#checkDeadlines(), Math.max(0, deadline - now()));
    // Holders keep nothing alive: a process that is done may exit with a permit still held.
    this.#deadlineTimer.unref?.();
  }

  #checkDeadlines(): void {
    this.#deadlineTimer = undefined;
    this.#deadlineAt = Number.POSITIVE_INFINITY;
    const t = now();
    const due: HolderHandle[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const group of this.#groups.values()) {
      for (const holder of group.holders.values()) {
        if (holder[deadline] <= t + EARLY) due.push(holder);
        else if (holder[deadline] < next) next = holder[deadline];
      }
    }
    for (const holder of due) holder[expired]();
    if (next !== Number.POSITIVE_INFINITY) this.watch(next);
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
    this.#scheduleBy(now() + waiterTtl / 3);
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

  /** `queued`: the waiter was added (addWaiter), not only listened for. */
  removeWaiter(at: SemaphoreKeys, id: string, queued: boolean): void {
    this.#waiters.delete(id);
    if (queued) this.#groups.get(at.keys[0])?.waiters.delete(id);
  }

  // A group left empty stays until the next tick (one is armed while any group has members), so
  // that a limiter cycling acquire and release does not make a group and two maps per cycle.
  #group(at: SemaphoreKeys, lease: number, waiterTtl: number): Group {
    let group = this.#groups.get(at.keys[0]);
    if (group === undefined) {
      group = { at, lease, waiterTtl, holders: new Map(), waiters: new Map() };
      this.#groups.set(at.keys[0], group);
    }
    return group;
  }

  #prune(): void {
    for (const [key, group] of this.#groups) {
      if (group.holders.size === 0 && group.waiters.size === 0) this.#groups.delete(key);
    }
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

  /** A new member wants a tick by `dueAt`: the others' wishes are in the armed timer already. */
  #scheduleBy(dueAt: number): void {
    if (this.#ticking) {
      if (dueAt < this.#dueAt) this.#dueAt = dueAt;
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= dueAt) return;
    this.#schedule(dueAt);
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
      this.#prune();
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
    this.#prune();
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
          if (reply[i++] === 1) handle?.[refreshed](sentAt, g.lease);
          else handle?.[lost]();
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
    clearTimeout(this.#deadlineTimer);
    const releases: Promise<void>[] = [];
    const error = new ClosedError(undefined, 'RedisStore is closed');
    for (const group of [...this.#groups.values()]) {
      for (const waiter of [...group.waiters.values()]) waiter.close(error);
      for (const holder of [...group.holders.values()]) releases.push(holder[closeRelease]());
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

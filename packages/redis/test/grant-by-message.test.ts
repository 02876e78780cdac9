// The hand-off: the script that frees weight grants the head waiter and sends the grant to the
// waiter's store by message. The message is only a shortcut: these tests take it away (a store
// whose pub/sub connection listens on another redis-server) and check that the grant is still
// collected by the waiter's poll, and released if the waiter gave up in the meantime.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisSemaphore, RedisStore } from '../src/index.js';
import { eventually, startRedis, type TestRedis } from './redis-server.js';

let redis: TestRedis;
let elsewhere: TestRedis;
const stores: RedisStore[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let names = 0;
const uniqueName = () => `handoff${++names}`;
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A queued waiter polls after 50, 100, 200, 400 ms (each ±25 %): its third poll is over by
// 438 ms and its fourth not before 562 ms. Releasing at 480 ms leaves a window without polls.
const POLLS_APART = 480;

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  [redis, elsewhere] = await Promise.all([startRedis(), startRedis()]);
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await Promise.all([redis?.stop(), elsewhere?.stop()]);
  expect(unhandled).toEqual([]);
});

function newStore(client: Redis): RedisStore {
  const store = new RedisStore({ client });
  stores.push(store);
  return store;
}

/**
 * A client whose store hears no grant: the store's pub/sub connection (a duplicate of its own
 * connection, itself a duplicate of this client) goes to another redis-server.
 */
function deafClient(): Redis {
  const client = new Redis(redis.url, { lazyConnect: true });
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (options) => {
    const connection = duplicate(options);
    connection.duplicate = () => new Redis(elsewhere.url);
    return connection;
  };
  return client;
}

/** A semaphore of capacity 1 named `name` in a store of its own (a process, as Redis sees it). */
function semaphoreIn(name: string, client = new Redis(redis.url, { lazyConnect: true })) {
  return new RedisSemaphore(newStore(client), { name, capacity: 1 });
}

/** The limiter's state as Redis sees it. */
async function inRedis(name: string) {
  const [holders, queued] = await Promise.all([
    redis.admin.zrange(`sluice:{${name}}:holders`, 0, -1),
    redis.admin.zcard(`sluice:{${name}}:queue`),
  ]);
  return { holders, queued };
}

/** Redis has granted one holder, with `queued` waiters left (the release script made the grant). */
async function grantedInRedis(name: string, queued: number): Promise<boolean> {
  return eventually(async () => {
    const now = await inRedis(name);
    return now.holders.length === 1 && now.queued === queued;
  }, 1000);
}

describe('grant by message', () => {
  it('a grant made by the release script reaches the waiter in another store without a round trip', async () => {
    const name = uniqueName();
    const here = semaphoreIn(name);
    const there = semaphoreIn(name);
    const held = await here.acquire();
    const waiting = there.acquire();
    expect(await eventually(async () => (await inRedis(name)).queued === 1, 3000)).toBe(true);
    await tick(POLLS_APART); // subscribed, and between two of the waiter's polls
    await redis.admin.config('RESETSTAT');
    held.release();
    const permit = await waiting;
    // The release (one script) and nothing else: the waiter sent no acquire to collect it.
    const info = await redis.admin.info('commandstats');
    expect(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1]).toBe('1');
    expect(BigInt(permit.fence)).toBeGreaterThan(0n);
    permit.release();
  });

  it('a grant whose message is lost is collected by the waiter’s next acquire (poll or heartbeat)', async () => {
    const name = uniqueName();
    const here = semaphoreIn(name);
    const deaf = semaphoreIn(name, deafClient());
    const held = await here.acquire();
    let settled = false;
    const waiting = deaf.acquire().finally(() => {
      settled = true;
    });
    expect(await eventually(async () => (await inRedis(name)).queued === 1, 3000)).toBe(true);
    await tick(POLLS_APART);
    held.release();
    // The release script granted the waiter at once (it holds in Redis), though it has not
    // heard of it yet: no message can reach its store.
    expect(await grantedInRedis(name, 0)).toBe(true);
    expect(settled).toBe(false);
    const permit = await waiting;
    expect((await inRedis(name)).holders).toHaveLength(1);
    expect(permit.signal.aborted).toBe(false);
    // The same grant: the fence Redis recorded for it.
    const [id] = (await inRedis(name)).holders;
    expect(await redis.admin.hget(`sluice:{${name}}:data`, `f:${id}`)).toBe(permit.fence);
    await permit[Symbol.asyncDispose]();
    expect((await inRedis(name)).holders).toEqual([]);
  });

  it('a grant made for a waiter that aborted before hearing of it is released (no leaked holder)', async () => {
    const name = uniqueName();
    const here = semaphoreIn(name);
    const deaf = semaphoreIn(name, deafClient());
    const held = await here.acquire();
    const controller = new AbortController();
    const reason = new Error('gave up');
    const abandoned = deaf.acquire({ signal: controller.signal }).catch((e: unknown) => e);
    expect(await eventually(async () => (await inRedis(name)).queued === 1, 3000, 5)).toBe(true);
    const queuedAt = performance.now();
    const behind = here.acquire({ timeout: 10_000 });
    expect(await eventually(async () => (await inRedis(name)).queued === 2, 3000, 5)).toBe(true);
    await tick(POLLS_APART - (performance.now() - queuedAt));
    held.release();
    // Granted in Redis to the deaf waiter, which has not heard of it...
    expect(await grantedInRedis(name, 1)).toBe(true);
    const [deafId] = (await inRedis(name)).holders;
    // ...and gives up now: its leave releases the grant at once (left alone, the grant would
    // last until the waiter's deadline, 2 s or more), and the next waiter gets the permit.
    controller.abort(reason);
    expect(await abandoned).toBe(reason);
    expect(
      await eventually(async () => !(await inRedis(name)).holders.includes(deafId!), 1000, 10),
    ).toBe(true);
    const permit = await behind;
    expect((await inRedis(name)).holders).toHaveLength(1);
    permit.release();
    expect(await eventually(async () => (await inRedis(name)).holders.length === 0, 2000)).toBe(
      true,
    );
    expect(Number(await redis.admin.hget(`sluice:{${name}}:data`, 'used'))).toBe(0);
  });

  it('a grant by message lasts at most the waiter’s own TTL, and its store extends it to a full lease in time', async () => {
    const name = uniqueName();
    const waiterTtl = 600;
    const lease = 5000;
    const options = { name, capacity: 1, waiterTtl, lease };
    const here = new RedisSemaphore(newStore(new Redis(redis.url, { lazyConnect: true })), options);
    const there = new RedisSemaphore(
      newStore(new Redis(redis.url, { lazyConnect: true })),
      options,
    );
    const held = await here.acquire();
    const waiting = there.acquire();
    expect(await eventually(async () => (await inRedis(name)).queued === 1, 3000)).toBe(true);
    held.release();
    const permit = await waiting;
    const [id] = (await inRedis(name)).holders;
    const deadline = async () =>
      Number(await redis.admin.zscore(`sluice:{${name}}:holders`, id!)) -
      Number((await redis.admin.time())[0]) * 1000;
    // A waiter that died just before its grant would hold the weight no longer than waiterTtl.
    expect(await deadline()).toBeLessThanOrEqual(waiterTtl + 1000);
    // Past the short first lease, the holder still holds: its store refreshed it early.
    await tick(waiterTtl * 2);
    expect(permit.signal.aborted).toBe(false);
    expect(await deadline()).toBeGreaterThan(waiterTtl + 1000);
    permit.release();
  });
});

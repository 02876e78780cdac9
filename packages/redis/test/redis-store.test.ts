// RedisStore's command path over a scripted client: what is sent (EVALSHA, the deadline in
// ARGV[1]), and each way a call can go: the first connect, NOSCRIPT, STALE, a reply error, a
// malformed reply, a command timeout, the breaker, a closed store. The fault tests run the same
// paths against a real redis-server; here every reply is chosen, so the rare ones are covered too.
import { EventEmitter } from 'node:events';
import { ClosedError, UnavailableError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { RedisStore, RedisTokenBucket } from '../src/index.js';
import { LuaScript } from '../src/internal/lua-script.js';
import { runScript } from '../src/redis-store.js';
import { expectNoUnhandledRejections } from './no-unhandled-rejections.js';

expectNoUnhandledRejections();

/** An error Redis replied with, as ioredis reports it. */
class ReplyError extends Error {
  override name = 'ReplyError';
}

type Responder = (args: string[]) => unknown;

/** Enough of an ioredis client for the store: `call` answers with the next responder. */
class ScriptedClient extends EventEmitter {
  status = 'ready';
  readonly sent: string[][] = [];
  readonly responders: Responder[] = [];

  duplicate(): this {
    return this;
  }

  call(...args: string[]): Promise<unknown> {
    return this.callBuffer(...args);
  }

  /** What the store sends with (ioredis's call without the reply's Buffer-to-string walk). */
  callBuffer(...args: string[]): Promise<unknown> {
    this.sent.push(args);
    const respond = this.responders.shift();
    if (respond === undefined) return new Promise(() => {}); // never answers
    try {
      return Promise.resolve(respond(args));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  quit(): Promise<void> {
    return Promise.resolve();
  }

  disconnect(): void {}
}

/** Redis's time in µs for a reply (any plausible value: only differences matter). */
const serverNow = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
/** A GCRA reply for one decision: granted, no wait, `remaining` left. */
const granted =
  (remaining = 4) =>
  () => [1, serverNow(), 1, 0, remaining];

function setUp(options: { commandTimeout?: number; threshold?: number } = {}) {
  const client = new ScriptedClient();
  const errors: unknown[] = [];
  const store = new RedisStore({
    client,
    commandTimeout: options.commandTimeout ?? 100,
    breaker: { threshold: options.threshold ?? 3, coolDown: 60_000 },
    onError: (error) => errors.push(error),
  });
  const bucket = new RedisTokenBucket(store, { name: 'b', capacity: 5, refillPerSecond: 1 });
  return { client, store, bucket, errors };
}

const outcome = (work: Promise<unknown>) =>
  work.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe('RedisStore command path', () => {
  it('sends EVALSHA with the key and a deadline on Redis’s clock once a reply told it the offset', async () => {
    const { client, store, bucket } = setUp({ commandTimeout: 100 });
    client.responders.push(granted(4));
    expect(await bucket.tryTake()).toEqual({ ok: true, remaining: 4 });
    const [first] = client.sent;
    const script = first![1]!;
    expect(first).toEqual([
      'evalsha',
      script,
      '1',
      'sluice:{b}:bucket',
      '0',
      '1000000',
      '5',
      '1',
      '0',
    ]);
    expect(script).toMatch(/^[0-9a-f]{40}$/);

    // The reply carried Redis's time: the next command's deadline is Redis's time at which this
    // caller gives up (sent + 100 ms), as a plain integer string.
    let before = 0;
    client.responders.push(() => {
      before = serverNow();
      return [1, before, 1, 0, 3];
    });
    const sentAt = serverNow();
    expect(await bucket.tryTake()).toEqual({ ok: true, remaining: 3 });
    const deadline = client.sent[1]![4]!;
    expect(deadline).toMatch(/^[1-9][0-9]{15}$/);
    // At least the give-up moment (the offset estimate is an upper bound), and later only by
    // the first call's one-way delay (in the estimate; generous here for a loaded machine).
    expect(Number(deadline)).toBeGreaterThanOrEqual(sentAt + 100_000 - 1000);
    expect(Number(deadline)).toBeLessThanOrEqual(before + 100_000 + 1_000_000);
    await store.close();
  });

  it('sends the source once with EVAL after NOSCRIPT; the caller never sees it', async () => {
    const { client, store, bucket } = setUp();
    client.responders.push(() => {
      throw new ReplyError('NOSCRIPT No matching script. Please use EVAL.');
    }, granted(4));
    expect(await bucket.tryTake()).toEqual({ ok: true, remaining: 4 });
    expect(client.sent).toHaveLength(2);
    const [evalsha, evalSource] = client.sent;
    expect(evalsha![0]).toBe('evalsha');
    expect(evalSource![0]).toBe('eval');
    expect(evalSource![1]).toContain("redis.call('TIME')");
    expect(evalSource!.slice(2)).toEqual(evalsha!.slice(2));
    await store.close();
  });

  it('NOSCRIPT twice in a row reaches the caller as the reply error, not counted as Redis down', async () => {
    const { client, store, bucket } = setUp({ threshold: 1 });
    const noscript = () => {
      throw new ReplyError('NOSCRIPT No matching script. Please use EVAL.');
    };
    client.responders.push(noscript, noscript);
    const result = await outcome(bucket.tryTake());
    expect(result).toEqual({ error: expect.any(ReplyError) });
    expect(client.sent.map((args) => args[0])).toEqual(['evalsha', 'eval']);
    // Redis answered: with threshold 1 the breaker would otherwise be open now.
    client.responders.push(granted(4));
    expect(await bucket.tryTake()).toEqual({ ok: true, remaining: 4 });
    await store.close();
  });

  it('an error reply (a wrong key type) rejects with that error and never opens the breaker', async () => {
    const { client, store, bucket, errors } = setUp({ threshold: 2 });
    for (let i = 0; i < 4; i++) {
      client.responders.push(() => {
        throw new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value');
      });
      const result = await outcome(bucket.tryTake());
      expect(result).toEqual({ error: expect.any(ReplyError) });
    }
    expect(client.sent).toHaveLength(4);
    expect(errors).toEqual([]);
    await store.close();
  });

  it('STALE that came back in time (Redis’s clock stepped): forgets the offset and sends once more without a deadline', async () => {
    const { client, store, bucket } = setUp({ commandTimeout: 1000 });
    client.responders.push(granted(4));
    await bucket.tryTake();
    client.responders.push(() => [-1, serverNow() + 3_600_000_000], granted(3));
    expect(await bucket.tryTake()).toEqual({ ok: true, remaining: 3 });
    const [, stale, again] = client.sent;
    expect(stale![0]).toBe('evalsha');
    expect(stale![4]).not.toBe('0');
    expect(again![0]).toBe('evalsha');
    expect(again![4]).toBe('0');
    expect(again!.slice(5)).toEqual(stale!.slice(5));
    await store.close();
  });

  it('STALE twice in a row: UnavailableError', async () => {
    const { client, store, bucket } = setUp();
    client.responders.push(
      () => [-1, serverNow()],
      () => [-1, serverNow()],
    );
    const result = await outcome(bucket.tryTake());
    expect(result).toEqual({ error: expect.any(UnavailableError) });
    expect(String((result as { error: Error }).error.message)).toContain('STALE twice');
    expect(client.sent).toHaveLength(2);
    await store.close();
  });

  it('NOSCRIPT and then STALE: the source is sent once, then EVALSHA again', async () => {
    const { client, store, bucket } = setUp();
    client.responders.push(
      () => {
        throw new ReplyError('NOSCRIPT No matching script. Please use EVAL.');
      },
      () => [-1, serverNow()],
      granted(2),
    );
    expect(await bucket.tryTake()).toEqual({ ok: true, remaining: 2 });
    expect(client.sent.map((args) => args[0])).toEqual(['evalsha', 'eval', 'evalsha']);
    await store.close();
  });

  it('a reply that is not a sluice reply: UnavailableError with the reply as cause', async () => {
    const { client, store, bucket } = setUp();
    client.responders.push(() => 'OK');
    const result = await outcome(bucket.tryTake());
    expect(result).toEqual({ error: expect.any(UnavailableError) });
    expect((result as { error: UnavailableError }).error.cause).toBeInstanceOf(TypeError);
    await store.close();
  });

  it('string replies are converted to numbers', async () => {
    const { client, store, bucket } = setUp();
    client.responders.push(() => ['1', String(serverNow()), '1', '0', '4']);
    expect(await bucket.tryTake()).toEqual({ ok: true, remaining: 4 });
    await store.close();
  });

  it('no answer within commandTimeout: UnavailableError; the late reply changes nothing', async () => {
    const { client, store, bucket } = setUp({ commandTimeout: 50 });
    let answer: (value: unknown) => void = () => {};
    client.responders.push(
      () =>
        new Promise((resolve) => {
          answer = resolve;
        }),
    );
    const started = performance.now();
    const result = await outcome(bucket.tryTake());
    expect(result).toEqual({ error: expect.any(UnavailableError) });
    expect(performance.now() - started).toBeGreaterThanOrEqual(49);
    answer([1, serverNow(), 1, 0, 4]);
    // The late reply only updates the clock; the next call goes out as usual.
    client.responders.push(granted(3));
    expect(await bucket.tryTake()).toEqual({ ok: true, remaining: 3 });
    await store.close();
  });

  it('opens the breaker after `threshold` failures: no command is sent, onError hears it once', async () => {
    const { client, store, bucket, errors } = setUp({ threshold: 2 });
    const connectionLost = () => {
      throw new Error('Connection is closed.');
    };
    client.responders.push(connectionLost, connectionLost);
    for (let i = 0; i < 2; i++) {
      const result = await outcome(bucket.tryTake());
      expect(result).toEqual({ error: expect.any(UnavailableError) });
    }
    expect(errors).toHaveLength(1);
    const refused = await outcome(bucket.tryTake());
    expect(refused).toEqual({ error: expect.any(UnavailableError) });
    expect((refused as { error: Error }).error.message).toContain('circuit breaker open');
    expect(client.sent).toHaveLength(2);
    await store.close();
  });

  it('waits for the first connect within commandTimeout, then sends', async () => {
    const { client, store, bucket } = setUp({ commandTimeout: 1000 });
    client.status = 'connecting';
    client.responders.push(granted(4));
    const pending = bucket.tryTake();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(client.sent).toHaveLength(0);
    client.status = 'ready';
    client.emit('ready');
    expect(await pending).toEqual({ ok: true, remaining: 4 });
    expect(client.sent).toHaveLength(1);
    await store.close();
  });

  it('a first connect that does not come within commandTimeout: UnavailableError, nothing sent', async () => {
    const { client, store, bucket } = setUp({ commandTimeout: 40 });
    client.status = 'connecting';
    const result = await outcome(bucket.tryTake());
    expect(result).toEqual({ error: expect.any(UnavailableError) });
    expect(client.sent).toHaveLength(0);
    // Connected too late for that call: it is not sent afterwards either.
    client.status = 'ready';
    client.emit('ready');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(client.sent).toHaveLength(0);
    await store.close();
  });

  it('once connected, a connection that is down fails at once: nothing waits for a reconnect', async () => {
    // A timeout longer than the test's own: waiting for the reconnect would fail the test.
    const { client, store, bucket } = setUp({ commandTimeout: 120_000 });
    client.responders.push(granted(4));
    await bucket.tryTake();
    client.status = 'reconnecting';
    const result = await outcome(bucket.tryTake());
    expect(result).toEqual({ error: expect.any(UnavailableError) });
    expect((result as { error: Error }).error.message).toContain('not ready');
    expect(client.sent).toHaveLength(1);
    await store.close();
  });

  it('a reply with items that are not numbers (strings, Buffers) is converted', async () => {
    const { client, store } = setUp();
    const script = new LuaScript('return {1, now}');
    client.responders.push(() => [1, 2, Buffer.from('-3'), '4']);
    expect(await runScript(store, script, [], [])).toEqual([1, 2, -3, 4]);
    await store.close();
  });

  it('runScript sends keys, then the deadline as ARGV[1], then the arguments', async () => {
    const { client, store } = setUp();
    const script = new LuaScript('return {1, now}');
    client.responders.push(() => [1, 2]);
    expect(await runScript(store, script, ['k1', 'k2'], ['a', 'b'])).toEqual([1, 2]);
    expect(client.sent).toEqual([['evalsha', script.sha, '2', 'k1', 'k2', '0', 'a', 'b']]);
    client.responders.push(() => [1, 3]);
    expect(await runScript(store, script, [], [])).toEqual([1, 3]);
    expect(client.sent[1]).toHaveLength(4);
    await store.close();
  });

  it('rejects with ClosedError once closed, without sending', async () => {
    const { client, store, bucket } = setUp();
    await store.close();
    const result = await outcome(bucket.tryTake());
    expect(result).toEqual({ error: expect.any(ClosedError) });
    expect(client.sent).toHaveLength(0);
  });
});

#!/usr/bin/env node

// A tour of @sluice/core's primitives at work. Run `pnpm walkthrough` (it builds core first),
// or `node scripts/walkthrough.mjs` after a build. Finishes in a few seconds.

import { rateLimitHeaders, rejection } from '../packages/core/dist/http.js';
import {
  BoundedQueue,
  KeyedSemaphore,
  KeyedTokenBucket,
  Semaphore,
  TokenBucket,
} from '../packages/core/dist/index.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const start = performance.now();
const since = (t0) => `${Math.round(performance.now() - t0)} ms`;

function section(title) {
  console.log(`\n== ${title} ${'='.repeat(Math.max(0, 72 - title.length))}`);
}

// 1. A fragile downstream: twenty calls, at most three at a time.
{
  section('1. Twenty downstream calls, at most 3 at a time (Semaphore#run)');
  const downstream = new Semaphore(3);
  let inFlight = 0;
  let highest = 0;
  const call = async (i) => {
    inFlight++;
    highest = Math.max(highest, inFlight);
    await sleep(40 + ((i * 17) % 40)); // 40..79 ms of "work"
    inFlight--;
    return i;
  };
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => downstream.run(() => call(i))),
  );
  console.log(`calls finished:        ${results.length}`);
  console.log(`highest concurrency:   ${highest} (limit 3)`);
  console.log(`total time:            ${since(t0)} (one at a time would take ~1200 ms)`);
  const s = downstream.stats();
  console.log(
    `stats():               acquired=${s.acquired} maxInUse=${s.maxInUse} inUse=${s.inUse}`,
  );
  if (highest > 3) throw new Error('the limit was exceeded');
}

// 2. Backpressure: a fast producer held back by a slow consumer.
{
  section('2. A fast producer and a slow consumer through a BoundedQueue(4)');
  const queue = new BoundedQueue(4);
  let producerWaits = 0;
  let maxSize = 0;
  const producer = (async () => {
    for (let i = 0; i < 24; i++) {
      // tryPut succeeds while there is room; when the queue is full, put() waits: that wait
      // is the backpressure.
      if (!queue.tryPut(i)) {
        producerWaits++;
        await queue.put(i);
      }
      maxSize = Math.max(maxSize, queue.size);
    }
    queue.close(); // takers drain what is left, then iteration ends
  })();
  const t0 = performance.now();
  let consumed = 0;
  for await (const _item of queue) {
    await sleep(10); // slow consumer
    consumed++;
  }
  await producer;
  console.log(`items consumed:        ${consumed} of 24`);
  console.log(`producer had to wait:  ${producerWaits} times`);
  console.log(`largest queue size:    ${maxSize} (capacity 4)`);
  console.log(`time:                  ${since(t0)} (paced by the consumer)`);
  if (maxSize > 4 || consumed !== 24) throw new Error('the queue misbehaved');
}

// 3. Pacing with a token bucket.
{
  section('3. Pacing calls with a TokenBucket (burst 2, then 10 per second)');
  const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 10 });
  const t0 = performance.now();
  const stamps = [];
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      bucket.take().then(() => stamps.push([i, performance.now() - t0])),
    ),
  );
  for (const [i, at] of stamps)
    console.log(`call ${i} went at      ${String(Math.round(at)).padStart(4)} ms`);
  console.log('(two at once from the full bucket, then one every ~100 ms, in order)');
  const r = bucket.tryTake();
  console.log(`tryTake() right after: ${JSON.stringify(r)}`);
}

// 4. Per-user limits that cannot leak.
{
  section('4. Two requests at a time per user (KeyedSemaphore)');
  const perUser = new KeyedSemaphore(2);
  let aliceHighest = 0;
  let aliceNow = 0;
  const t0 = performance.now();
  const alice = Array.from({ length: 6 }, () =>
    perUser.run('alice', async () => {
      aliceHighest = Math.max(aliceHighest, ++aliceNow);
      await sleep(50);
      aliceNow--;
    }),
  );
  await sleep(5);
  const tBob = performance.now();
  await perUser.run('bob', () => sleep(10));
  const bobTook = performance.now() - tBob;
  console.log(`keys alive mid-burst:  ${perUser.size} (alice; bob's key left when he finished)`);
  await Promise.all(alice);
  console.log(`alice at once (max):   ${aliceHighest} of 6 sent (limit 2)`);
  console.log(`alice's six took:      ${since(t0)} (three rounds of 50 ms)`);
  console.log(`bob took:              ${Math.round(bobTook)} ms (not slowed by alice)`);
  console.log(`keys alive afterwards: ${perUser.size} (nothing held, nothing waiting: gone)`);
  if (perUser.size !== 0) throw new Error('a key leaked');
}

// 5. The HTTP answer for a client that is too fast.
{
  section('5. A per-client rate limit and its HTTP answer (@sluice/core/http)');
  const perClient = new KeyedTokenBucket({ capacity: 3, refillPerSecond: 1 });
  const results = Array.from({ length: 5 }, () => perClient.tryTake('203.0.113.7'));
  console.log(`five quick requests:   ${results.map((r) => (r.ok ? 'ok' : 'refused')).join(', ')}`);
  const refused = results.find((r) => !r.ok);
  const answer = rejection({
    reason: 'rate_limited',
    retryAfterMs: refused.retryAfterMs,
    headers: rateLimitHeaders(
      { name: 'per-client', quota: 3, windowSeconds: 3 },
      { remaining: 0, resetSeconds: refused.retryAfterMs / 1000 },
    ),
  });
  console.log(`status:                ${answer.status}`);
  for (const [name, value] of Object.entries(answer.headers)) console.log(`${name}: ${value}`);
  console.log(JSON.stringify(answer.body, null, 2));
  console.log(
    `clients tracked:       ${perClient.size} (until its bucket refills: a full bucket is forgotten)`,
  );
}

console.log(`\nDone in ${since(start)}.`);

import { describe, expectTypeOf, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';
import type { Job, JobStatus } from './job.js';
import { JobScheduler, type JobSchedulerStats } from './job-scheduler.js';

describe('types', () => {
  it('JobScheduler', () => {
    const scheduler = new JobScheduler({ limit: 2, onError: (_error, job) => job.status });
    expectTypeOf(scheduler.spawn(() => 1)).toEqualTypeOf<Promise<Job<number>>>();
    expectTypeOf(scheduler.spawn(async (signal) => signal.aborted)).toEqualTypeOf<
      Promise<Job<boolean>>
    >();
    expectTypeOf<Job<string>['result']>().returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf<Job<string>['status']>().toEqualTypeOf<JobStatus>();
    expectTypeOf(scheduler.stats()).toEqualTypeOf<JobSchedulerStats>();
    expectTypeOf(scheduler.close()).toEqualTypeOf<Promise<void>>();
    // @ts-expect-error limit is required
    new JobScheduler({ pendingLimit: 1 });
  });

  it('BoundedQueue streams', () => {
    const queue = new BoundedQueue<number>(1);
    expectTypeOf(queue.readable()).toEqualTypeOf<ReadableStream<number>>();
    expectTypeOf(queue.writable()).toEqualTypeOf<WritableStream<number>>();
    expectTypeOf(queue.join()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(queue.unfinished).toEqualTypeOf<number>();
  });
});

import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  QueueFullError,
  SluiceError,
  TimeoutError,
  UnavailableError,
} from './errors.js';

describe('errors', () => {
  it.each([
    [() => new TimeoutError(250), 'TimeoutError', 'TIMEOUT'],
    [() => new ClosedError(), 'ClosedError', 'CLOSED'],
    [() => new QueueFullError(), 'QueueFullError', 'QUEUE_FULL'],
    [() => new UnavailableError(), 'UnavailableError', 'UNAVAILABLE'],
  ] as const)('%#: name, code and class chain', (make, name, code) => {
    const error = make();
    expect(error).toBeInstanceOf(SluiceError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(0);
    expect(String(error)).toBe(`${name}: ${error.message}`);
    expect(error.stack).toContain(name);
  });

  it('SluiceError keeps any code and its own name', () => {
    const error = new SluiceError('CUSTOM', 'custom', { cause: 1 });
    expect(error.name).toBe('SluiceError');
    expect(error.code).toBe('CUSTOM');
    expect(error.cause).toBe(1);
  });

  it('TimeoutError carries the timeout and a message with it', () => {
    const error = new TimeoutError(250);
    expect(error.timeoutMs).toBe(250);
    expect(error.message).toBe('Timed out after 250 ms');
    expect(new TimeoutError(5, 'custom').message).toBe('custom');
  });

  it('ClosedError carries the close reason as cause, and none without one', () => {
    const reason = new Error('shutdown');
    expect(new ClosedError(reason).cause).toBe(reason);
    expect(new ClosedError('text').cause).toBe('text');
    expect('cause' in new ClosedError()).toBe(false);
    expect(new ClosedError(undefined, 'Queue closed').message).toBe('Queue closed');
  });

  it('UnavailableError keeps what went wrong underneath as its cause', () => {
    const cause = new Error('connect ECONNREFUSED');
    const error = new UnavailableError('Redis did not answer within 50 ms', { cause });
    expect(error.message).toBe('Redis did not answer within 50 ms');
    expect(error.cause).toBe(cause);
  });

  it('QueueFullError takes a message', () => {
    expect(new QueueFullError('Too many waiting').message).toBe('Too many waiting');
  });

  it('is made fresh at each throw: distinct instances and stacks', () => {
    expect(new QueueFullError()).not.toBe(new QueueFullError());
  });
});

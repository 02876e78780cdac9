export interface StatsStreamOptions {
  /** Time between frames, in ms. Default 250. */
  intervalMs?: number;
  /** Ends the stream (closes the response) when aborted. */
  signal?: AbortSignal;
}

/** Response headers of a server-sent-events stream that no proxy should buffer or cache. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  // The connection of an event stream is never reused: closing it with the stream lets the
  // server shut down at once rather than wait out the keep-alive.
  connection: 'close',
};

/**
 * A server-sent-events body: one `data: <JSON of read()>` frame at once, then one every
 * `intervalMs` while the client reads. A client that falls behind misses frames rather than
 * making the server buffer them; the timer stops when the client leaves or `signal` aborts.
 */
export function statsStream(
  read: () => unknown,
  { intervalMs = 250, signal }: StatsStreamOptions = {},
): ReadableStream<Uint8Array> {
  if (!Number.isFinite(intervalMs) || intervalMs < 10) {
    throw new TypeError(`Expected \`intervalMs\` to be a number >= 10, got ${intervalMs}`);
  }
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = () => {
    clearInterval(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const frame = () => {
          if ((controller.desiredSize ?? 0) <= 0) return; // the client is behind: skip this one
          controller.enqueue(encoder.encode(`data: ${JSON.stringify(read())}\n\n`));
        };
        if (signal?.aborted) {
          controller.close();
          return;
        }
        onAbort = () => {
          stop();
          controller.close();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        // `retry` tells EventSource how soon to reconnect after the server goes away.
        controller.enqueue(encoder.encode('retry: 1000\n\n'));
        frame();
        timer = setInterval(frame, intervalMs);
      },
      cancel: stop,
    },
    // Room for a few frames: beyond that the client is not reading and frames are dropped.
    new CountQueuingStrategy({ highWaterMark: 4 }),
  );
}

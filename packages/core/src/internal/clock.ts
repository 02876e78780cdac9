// Time is read through lambdas, not captured references, so fake timers installed after
// import still take effect (the habit of TanStack Query's timeoutManager).

export type TimerHandle = ReturnType<typeof setTimeout>;

export const defaultNow = (): number => performance.now();
export const setTimer = (callback: () => void, ms: number): TimerHandle => setTimeout(callback, ms);
export const clearTimer = (handle: TimerHandle): void => clearTimeout(handle);

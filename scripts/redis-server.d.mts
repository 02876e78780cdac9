export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGSTOP */
  pause(): void;
  /** SIGCONT */
  resume(): void;
  /** SIGCONT, SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** A fresh, empty server on the same port. */
  restart(): Promise<void>;
  /** Kill it and remove its directory. */
  stop(): Promise<void>;
}
export function startRedisServer(): Promise<RedisServer>;

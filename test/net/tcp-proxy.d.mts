/** A running {@link startTcpProxy} proxy. */
export interface TcpProxy {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** Whether forwarding is stopped. */
  readonly paused: boolean;
  /** Connections accepted since it started. */
  readonly accepted: number;
  /** Connections open now (accepted and not yet closed on either side). */
  readonly open: number;
  /** Stops forwarding in both directions without closing anything: a network partition. */
  pause(): void;
  /** Forwards again, including connections accepted while paused: the partition heals. */
  resume(): void;
  /** Closes every open connection at once (both sides see a reset or an end). */
  dropAll(): void;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts a TCP proxy on 127.0.0.1 (a free port) to `target`. */
export function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy>;

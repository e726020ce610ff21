/**
 * What every framework row of the HTTP suite provides: an app with the same routes on a real
 * server, over a given record store.
 *
 * Routes (user names come in the query string, answers are JSON):
 * - `POST /sign-in?user=alice` signs in, with a new session id where the framework can;
 * - `GET /me` → `{ user, sid }`: the signed-in user and the current session id, or nulls;
 * - `POST /sign-out-others` → `{ cleared }`: `records.clearSessionsForUser(user, { except: sid })`;
 * - `POST /sign-out` destroys the session;
 * - `GET /slow` → `{ user, sid }` like `GET /me`, but it waits at the app's {@link Gate} after
 *   loading the session and answers once the gate opens, so that the framework's end-of-request
 *   save runs after whatever the test did meanwhile. The framework saves the session there as
 *   it does on every request with rolling sessions; where it saves only a changed session
 *   (express-session with `resave: false`, @hono/session), the route changes it.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SessionRecordStore, SessionStoreOptions } from '@sessionsql/core';

export interface User {
  id: string;
  name: string;
}

export const userNamed = (id: string): User => ({ id, name: `User ${id}` });

export interface AppOptions {
  /** The session lifetime to configure, in ms (whole seconds where the framework counts seconds). */
  readonly maxAgeMs: number;
  /** Where `GET /slow` waits, after loading the session. */
  readonly gate: Gate;
}

/**
 * Holds requests between two points: a route calls {@link Gate.pass} and waits there until the
 * test calls {@link Gate.open}; {@link Gate.arrived} tells the test that a request is waiting.
 */
export class Gate {
  #arrive!: () => void;
  #open!: () => void;
  readonly #arrived = new Promise<void>((resolve) => {
    this.#arrive = resolve;
  });
  readonly #opened = new Promise<void>((resolve) => {
    this.#open = resolve;
  });

  /** For the route: signals its arrival, then resolves once the gate is open. */
  pass(): Promise<void> {
    this.#arrive();
    return this.#opened;
  }

  /** Resolves once a request waits at the gate (or has passed it). */
  arrived(): Promise<void> {
    return this.#arrived;
  }

  /** Lets every waiting request through, and every later one at once. */
  open(): void {
    this.#open();
  }
}

export interface RunningApp {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Resolves once writes the framework did not wait for have finished. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface Framework {
  readonly name: string;
  /** Whether sign-in gives the session a new id. */
  readonly regenerates: boolean;
  /**
   * The record store options the app needs for a session lifetime of `maxAgeMs` (its
   * `getUserId`; its `ttlMs` when the framework passes no expiry to the store).
   */
  recordOptions?(maxAgeMs: number): SessionStoreOptions;
  /**
   * Starts the app over `records`. Sessions last `maxAgeMs` from their last use (from their
   * last write where the framework does not write on reads).
   */
  start(records: SessionRecordStore, options: AppOptions): Promise<RunningApp>;
}

/** The base URL of a listening server. */
export function baseUrl(address: AddressInfo | string | null): string {
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** Resolves the base URL of `server` once it listens (its `listen` already called). */
export async function listening(server: Server): Promise<string> {
  if (!server.listening) await once(server, 'listening');
  return baseUrl(server.address());
}

/** Closes `server`, dropping its idle keep-alive connections. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

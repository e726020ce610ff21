import { createHash, randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { SessionRecordStore } from 'sessionsql';

/** At most `failures` failed sign-ins in any `windowMs`; then the next waits for the oldest to leave the window. */
export interface ThrottleLimit {
  readonly failures: number;
  readonly windowMs: number;
}

/** The two limits a sign-in must be within. */
export interface SignInLimits {
  /** Failed sign-ins for one username, from anywhere: guessing one account's password. */
  readonly account: ThrottleLimit;
  /** Failed sign-ins from one client (an IPv4 address or an IPv6 /64), any usernames: password spraying. */
  readonly client: ThrottleLimit;
}

/** 10 failures per account and 50 per client in any 15 minutes. */
export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = Object.freeze({
  account: Object.freeze({ failures: 10, windowMs: 15 * 60_000 }),
  client: Object.freeze({ failures: 50, windowMs: 15 * 60_000 }),
});

/** Which limit refused a sign-in. */
export type ThrottleScope = keyof SignInLimits;

/** A sign-in the throttle let through; the caller says if the password matched. */
export interface SignInAttempt {
  /** The password matched: this attempt stops counting, and so do the account's earlier failures. */
  succeeded(): Promise<void>;
}

export type ThrottleVerdict =
  | { readonly allowed: true; readonly attempt: SignInAttempt }
  | { readonly allowed: false; readonly scope: ThrottleScope; readonly retryAt: number };

/** The throttle's keys: hashes, so that the table never holds what someone typed as a username, or an address. */
function throttleKey(scope: ThrottleScope, value: string): string {
  return `${scope}:${createHash('sha256').update(`${scope}\0${value}`).digest('base64url').slice(0, 32)}`;
}

/**
 * The client's network: an IPv4 address as it is, an IPv6 address by its /64 (one subscriber
 * gets a whole /64, so single addresses would cost an attacker nothing).
 */
export function clientNetwork(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const address = ip.split('%')[0]!.toLowerCase();
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::1.2.3.4) stands for two groups.
  const size = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? left : [...left, ...Array(8 - size(left) - size(right)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Failed sign-ins counted per account and per client in a table of the session database (a
 * second record store on the same URL), so that every node of the app shares them and a
 * restart keeps them, on SQLite or PostgreSQL alike.
 *
 * Each attempt is a row of its own, owned (as the record store's "user") by its throttle key
 * and expiring when it leaves the window, so the count of a key's live rows is its failures in
 * the window; the store's expiry and pruning do the rest. The rows are written before the
 * password is checked and counted after: of any number of concurrent guesses, at most the limit
 * are checked (each sees at least its own row and every row written before it). A refused
 * attempt removes its rows again, so that refusals neither prolong a lock nor fill the table.
 */
export class SignInThrottle {
  readonly #records: SessionRecordStore;
  readonly #limits: SignInLimits;
  readonly #clock: () => number;

  constructor(records: SessionRecordStore, limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS, clock = Date.now) {
    this.#records = records;
    this.#limits = limits;
    this.#clock = clock;
  }

  /** Counts a sign-in for `username` from `clientIp`, or refuses it while either is over its limit. */
  async begin(username: string, clientIp: string | undefined): Promise<ThrottleVerdict> {
    const records = this.#records;
    const account = throttleKey('account', username.trim().toLowerCase());
    const keys = [
      { scope: 'account', key: account, limit: this.#limits.account },
      { scope: 'client', key: throttleKey('client', clientNetwork(clientIp)), limit: this.#limits.client },
    ] as const;
    // Already at a limit: refused without writing anything.
    const before = await Promise.all(keys.map((k) => records.countSessionsForUser(k.key)));
    const full = keys.filter((k, i) => before[i]! >= k.limit.failures);
    if (full.length > 0) return this.#refuse(full);

    const now = this.#clock();
    const rows = keys.map(() => randomBytes(18).toString('base64url'));
    await Promise.all(keys.map((k, i) => records.save(rows[i]!, { userId: k.key }, now + k.limit.windowMs)));
    const after = await Promise.all(keys.map((k) => records.countSessionsForUser(k.key)));
    const over = keys.filter((k, i) => after[i]! > k.limit.failures);
    if (over.length > 0) {
      await Promise.all(rows.map((id) => records.delete(id)));
      return this.#refuse(over);
    }
    return {
      allowed: true,
      attempt: {
        succeeded: async () => {
          await Promise.all([...rows.map((id) => records.delete(id)), records.clearSessionsForUser(account)]);
        },
      },
    };
  }

  /** Refuses until every key in `over` is back under its limit. */
  async #refuse(
    over: readonly { scope: ThrottleScope; key: string; limit: ThrottleLimit }[],
  ): Promise<ThrottleVerdict> {
    const waits = await Promise.all(
      over.map(async (k) => ({
        scope: k.scope,
        // Under the limit again when the failure that is limit-th newest leaves the window.
        retryAt: (await this.#expiryOfNewest(k.key, k.limit.failures)) ?? this.#clock() + 1000,
      })),
    );
    return { allowed: false, ...waits.reduce((a, b) => (b.retryAt > a.retryAt ? b : a)) };
  }

  /**
   * When the `n`-th newest live row of `key` expires. The app's only use of the store's per-user
   * listing besides the devices page (which may change shape soon: it reads nothing but the expiry).
   */
  async #expiryOfNewest(key: string, n: number): Promise<number | undefined> {
    const [row] = await this.#records.listSessionsForUser(key, { limit: 1, offset: n - 1 });
    return row?.expiresAt;
  }
}

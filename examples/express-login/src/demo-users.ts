import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** A signed-up user as the app keeps it: never the password itself, only its scrypt hash. */
export interface User {
  readonly id: string;
  readonly name: string;
  readonly salt: Buffer;
  readonly passwordHash: Buffer;
}

/** A demo account, shown on the sign-in page so that a newcomer can try the app. */
export interface DemoAccount {
  readonly id: string;
  readonly name: string;
  readonly password: string;
}

/** The accounts seeded at start. Demo only: a real app keeps users in its own database. */
export const DEMO_ACCOUNTS: readonly DemoAccount[] = Object.freeze([
  { id: 'alice', name: 'Alice Liddell', password: 'wonderland' },
  { id: 'bob', name: 'Bob Builder', password: 'canwefixit' },
]);

const KEY_LENGTH = 64;
// N=2^15 (32 MiB, tens of ms a hash) keeps the demo and its tests quick; OWASP's figure for
// production is N=2^17 (128 MiB), which needs maxmem raised above Node's 32 MiB default.
const SCRYPT: ScryptOptions = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function hash(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, SCRYPT, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Users looked up by id, with passwords checked against their scrypt hashes. */
export class UserDirectory {
  readonly #users = new Map<string, User>();
  // Unknown names are checked against this too, so that a miss takes as long as a wrong password.
  readonly #decoy: Promise<User>;

  private constructor() {
    this.#decoy = UserDirectory.#hashUser({ id: '', name: '', password: randomBytes(16).toString('hex') });
  }

  static async #hashUser(account: DemoAccount): Promise<User> {
    const salt = randomBytes(16);
    return { id: account.id, name: account.name, salt, passwordHash: await hash(account.password, salt) };
  }

  /** Hashes the given accounts' passwords (scrypt) and keeps only the hashes. */
  static async create(accounts: readonly DemoAccount[]): Promise<UserDirectory> {
    const directory = new UserDirectory();
    for (const user of await Promise.all(accounts.map((a) => UserDirectory.#hashUser(a)))) {
      directory.#users.set(user.id, user);
    }
    await directory.#decoy;
    return directory;
  }

  /** The user with this id, if any. */
  find(id: string): User | undefined {
    return this.#users.get(id);
  }

  /** The user when the name and password match, otherwise `undefined`. */
  async verify(id: string, password: string): Promise<User | undefined> {
    const user = this.#users.get(id.trim().toLowerCase());
    const against = user ?? (await this.#decoy);
    const candidate = await hash(password, against.salt);
    const matches = timingSafeEqual(candidate, against.passwordHash);
    return matches && user !== undefined ? user : undefined;
  }
}

import { createCipheriv, createDecipheriv, hash, randomBytes } from 'node:crypto';

/**
 * An encryption key for session data at rest: 32 bytes, given as bytes or as a base64,
 * base64url or hex string (e.g. `openssl rand -base64 32`).
 */
export type EncryptionKey = string | Uint8Array;

/** The one key a stored ciphertext object has: `{ "sessionsql:aes-256-gcm": "<kid>.<iv+ciphertext+tag>" }`. */
const FIELD = 'sessionsql:aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyBytes(key: unknown, index: number): Buffer {
  let bytes: Buffer | undefined;
  if (key instanceof Uint8Array) bytes = Buffer.from(key);
  else if (typeof key === 'string') {
    if (/^[0-9a-f]{64}$/i.test(key)) bytes = Buffer.from(key, 'hex');
    else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(key)) bytes = Buffer.from(key, 'base64');
  }
  if (bytes?.length !== 32) {
    throw new TypeError(
      `sessionsql: option \`encryptionKeys\` entry ${index} must be 32 bytes: a Uint8Array, or a base64 or hex string of 32 bytes (make one with \`openssl rand -base64 32\`).`,
    );
  }
  return bytes;
}

/**
 * Authenticated encryption of session data (AES-256-GCM) with several keys: the first
 * encrypts, every one decrypts, so keys rotate without signing anyone out. The ciphertext is
 * bound to its session's key (as associated data): a row copied under another session does
 * not decrypt. What is stored is a JSON object with one field, so it fits `json`, `jsonb` and text.
 */
export class SessionCipher {
  readonly #keys: Map<string, Buffer>;
  readonly #current: { readonly id: string; readonly key: Buffer };

  /** @param keys 32-byte keys, newest first; see {@link EncryptionKey}. */
  constructor(keys: readonly unknown[]) {
    this.#keys = new Map();
    for (const [index, key] of keys.entries()) {
      const bytes = keyBytes(key, index);
      // A short public fingerprint names the key in the ciphertext, so decryption picks it at once.
      this.#keys.set(hash('sha256', bytes, 'base64url').slice(0, 8), bytes);
    }
    const [id, key] = this.#keys.entries().next().value!;
    this.#current = { id, key };
  }

  /** The stored form (JSON text) of the session JSON `text`, bound to `sessionKey`. */
  encrypt(text: string, sessionKey: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(Buffer.from(sessionKey));
    const sealed = Buffer.concat([iv, cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `{"${FIELD}":"${this.#current.id}.${sealed.toString('base64url')}"}`;
  }

  /**
   * The session JSON inside a stored value, or `undefined` when the value is not one of our
   * ciphertexts (plaintext). Throws an `Error` saying why when it cannot be decrypted (a key
   * not among the configured ones, a wrong key, tampered data); the message holds no data.
   */
  decrypt(value: { [key: string]: unknown }, sessionKey: string): string | undefined {
    const sealed = value[FIELD];
    if (typeof sealed !== 'string' || Object.keys(value).length !== 1) return undefined;
    const dot = sealed.indexOf('.');
    const key = this.#keys.get(sealed.slice(0, dot));
    if (key === undefined) {
      throw new Error(
        `it was encrypted with a key that is not in encryptionKeys (key id ${sealed.slice(0, Math.max(dot, 0))}); add that key back to the list`,
      );
    }
    const bytes = Buffer.from(sealed.slice(dot + 1), 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(sessionKey));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new Error('its ciphertext does not authenticate with its key (altered, or moved from another session)');
    }
  }
}

/** Whether a decoded stored value is one of our ciphertext objects. */
export function isCiphertext(value: { [key: string]: unknown }): boolean {
  return typeof value[FIELD] === 'string';
}

import type { SessionCipher } from './session-cipher.js';
import { isCiphertext } from './session-cipher.js';
import { decodeSession } from './session-codec.js';
import type { SessionObject } from './session-record.js';
import type { SessionStoreError } from './session-store-error.js';
import type { StoreErrors } from './store-errors.js';

/**
 * What the data column holds, both ways: session JSON, or with `encryptionKeys` its
 * ciphertext bound to the session's key. A value that cannot be read is reported
 * (CORRUPT_SESSION, DECRYPTION_FAILED) and treated as missing, never returned as stored.
 */
export class StoredData {
  readonly #cipher: SessionCipher | undefined;
  readonly #readUnencrypted: boolean;
  readonly #errors: StoreErrors;
  readonly #report: (error: SessionStoreError) => void;

  constructor(
    cipher: SessionCipher | undefined,
    readUnencrypted: boolean,
    errors: StoreErrors,
    report: (error: SessionStoreError) => void,
  ) {
    this.#cipher = cipher;
    this.#readUnencrypted = readUnencrypted;
    this.#errors = errors;
    this.#report = report;
  }

  /** What to store for the session JSON `text` of the session stored under `key`. */
  seal(text: string, key: string): string {
    return this.#cipher === undefined ? text : this.#cipher.encrypt(text, key);
  }

  /** The data and JSON text of a stored value of the session under `key`, or null (reported). */
  decode(stored: string, key: string): { data: SessionObject; text: string } | null {
    let value: SessionObject;
    try {
      value = decodeSession(stored);
    } catch (cause) {
      return this.#fail(this.#errors.corrupt((cause as Error).message));
    }
    const cipher = this.#cipher;
    if (cipher === undefined) {
      if (!isCiphertext(value)) return { data: value, text: stored };
      return this.#fail(
        this.#errors.decryption('it is encrypted and this store has no encryptionKeys; configure the keys'),
      );
    }
    let text: string | undefined;
    try {
      text = cipher.decrypt(value, key);
    } catch (cause) {
      return this.#fail(this.#errors.decryption((cause as Error).message));
    }
    if (text === undefined) {
      if (this.#readUnencrypted) return { data: value, text: stored };
      return this.#fail(
        this.#errors.decryption('it is stored unencrypted; set readUnencrypted: true while turning encryption on'),
      );
    }
    try {
      return { data: decodeSession(text), text };
    } catch (cause) {
      return this.#fail(this.#errors.corrupt((cause as Error).message));
    }
  }

  #fail(error: SessionStoreError): null {
    this.#report(error);
    return null;
  }
}

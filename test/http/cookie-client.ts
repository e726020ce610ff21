/**
 * A browser-like HTTP client over Node's fetch with its own cookie jar. It keeps a cookie until
 * the server replaces it or clears it (empty value), whatever its Expires or Max-Age: so an
 * expired session is refused by the server, not forgotten by the client.
 */
export class CookieClient {
  readonly #base: string;
  readonly #jar = new Map<string, string>();

  constructor(base: string) {
    this.#base = base;
  }

  /** The cookies the client sends, as a `cookie` header (empty when none). */
  get cookieHeader(): string {
    return [...this.#jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Sends a request with the jar's cookies, stores the cookies set, and parses the JSON answer. */
  async request<T = any>(method: 'GET' | 'POST', path: string): Promise<{ status: number; body: T }> {
    const cookie = this.cookieHeader;
    const response = await fetch(`${this.#base}${path}`, {
      method,
      headers: cookie ? { cookie } : {},
      redirect: 'manual',
    });
    for (const header of response.headers.getSetCookie()) {
      const pair = header.split(';', 1)[0]!;
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (value === '' || value === '""') this.#jar.delete(name);
      else this.#jar.set(name, value);
    }
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }

  post<T = any>(path: string) {
    return this.request<T>('POST', path);
  }
}

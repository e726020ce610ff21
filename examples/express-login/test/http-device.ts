/**
 * A device for HTTP tests: one browser's cookie jar over real `fetch`, following redirects the
 * way a browser does after a form post (303 → GET), and reading the pages' forms.
 */
import { createHmac } from 'node:crypto';

export interface Page {
  readonly status: number;
  /** The path the last request went to, after redirects. */
  readonly path: string;
  readonly html: string;
  readonly headers: Headers;
  /** The `Set-Cookie` headers of every response on the way, in order. */
  readonly setCookies: readonly string[];
}

/** The `<tr>` rows of the devices page. */
export interface ListedDevice {
  readonly key: string;
  readonly current: boolean;
  readonly label: string;
}

export class HttpDevice {
  /** The `sid` cookie's value as the server set it (URL-encoded), or undefined. */
  sidCookie: string | undefined;
  /** Headers sent with every request (e.g. the `X-Forwarded-Proto` a TLS proxy adds). */
  headers: Record<string, string> = {};

  constructor(
    public base: string,
    readonly userAgent: string,
  ) {}

  /** The session id in this device's cookie. */
  get sessionId(): string {
    const match = /^s%3A([^.]+)\./.exec(this.sidCookie ?? '');
    if (!match) throw new Error(`this device has no signed session cookie (${this.sidCookie})`);
    return decodeURIComponent(match[1]!);
  }

  /** Puts a cookie for `sessionId` signed with `secret` in the jar, as an attacker could plant. */
  plantSession(sessionId: string, secret: string): void {
    const signature = createHmac('sha256', secret).update(sessionId).digest('base64').replace(/=+$/, '');
    this.sidCookie = encodeURIComponent(`s:${sessionId}.${signature}`);
  }

  async get(path: string): Promise<Page> {
    return this.#follow('GET', path, undefined, [], {});
  }

  /** Posts a form; `headers` are added to the post only (e.g. the `Origin` a browser sends). */
  async post(path: string, form: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Page> {
    return this.#follow('POST', path, new URLSearchParams(form).toString(), [], headers);
  }

  async signIn(username: string, password: string, headers: Record<string, string> = {}): Promise<Page> {
    return this.post('/sign-in', { username, password }, headers);
  }

  /** Posts a signed-in form with the CSRF token found on `page`. */
  async submit(page: Page, action: string, form: Record<string, string> = {}): Promise<Page> {
    return this.post(action, { csrf: csrfOf(page), ...form });
  }

  async #follow(
    method: string,
    path: string,
    body: string | undefined,
    setCookies: string[],
    extraHeaders: Record<string, string>,
  ): Promise<Page> {
    let current = path;
    for (let hops = 0; hops < 5; hops++) {
      const response = await fetch(new URL(current, this.base), {
        method,
        redirect: 'manual',
        headers: {
          'user-agent': this.userAgent,
          ...(this.sidCookie === undefined ? {} : { cookie: `sid=${this.sidCookie}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
          ...this.headers,
          ...extraHeaders,
        },
        ...(body === undefined ? {} : { body }),
      });
      for (const header of response.headers.getSetCookie()) {
        setCookies.push(header);
        this.#store(header);
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.arrayBuffer();
        current = location;
        method = 'GET';
        body = undefined;
        extraHeaders = {};
        continue;
      }
      return {
        status: response.status,
        path: current,
        html: await response.text(),
        headers: response.headers,
        setCookies,
      };
    }
    throw new Error(`too many redirects from ${path}`);
  }

  #store(header: string): void {
    const [pair, ...attributes] = header.split(';');
    const eq = pair!.indexOf('=');
    if (pair!.slice(0, eq).trim() !== 'sid') return;
    const value = pair!.slice(eq + 1).trim();
    const expires = attributes.find((a) => a.trim().toLowerCase().startsWith('expires='));
    const expired = expires !== undefined && Date.parse(expires.trim().slice(8)) <= Date.now();
    this.sidCookie = value === '' || expired ? undefined : value;
  }
}

export function csrfOf(page: Page): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page.html);
  if (!match) throw new Error(`no CSRF token on ${page.path}`);
  return match[1]!;
}

export function devicesOf(page: Page): ListedDevice[] {
  const rows = [
    ...page.html.matchAll(/<tr data-device="([^"]+)"( data-current="true")?>\s*<td><span title="[^"]*">([^<]*)</g),
  ];
  return rows.map((m) => ({ key: m[1]!, current: m[2] !== undefined, label: m[3]! }));
}

/** The h1 of a page. */
export function headingOf(page: Page): string {
  return /<h1>([^<]*)<\/h1>/.exec(page.html)?.[1] ?? '';
}

export const UA = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
} as const;

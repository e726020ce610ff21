import type { DemoAccount } from './demo-users.js';

/** One row of the "Your devices" page. */
export interface DeviceRow {
  /** An opaque handle for the sign-out form: never the session id itself. */
  readonly key: string;
  readonly label: string;
  readonly userAgent: string;
  readonly signedInAt: number;
  readonly lastActiveAt: number;
  readonly current: boolean;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function time(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

const STYLE = `
  :root { color-scheme: light; --ink: #1d2330; --muted: #5d6577; --line: #dfe3ea; --accent: #2f5bd3; --bad: #b42318; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f5f7fa; }
  header { background: #fff; border-bottom: 1px solid var(--line); }
  header div, main { max-width: 46rem; margin: 0 auto; padding: 0.9rem 1.25rem; }
  header div { display: flex; align-items: center; gap: 1rem; }
  header strong { margin-right: auto; }
  header a { color: var(--accent); text-decoration: none; }
  h1 { font-size: 1.5rem; margin: 1.2rem 0 0.6rem; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 1.25rem; margin: 1rem 0; }
  label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
  input { width: 100%; padding: 0.55rem 0.7rem; border: 1px solid #c5cbd6; border-radius: 6px; font: inherit; }
  button { white-space: nowrap; font: inherit; padding: 0.45rem 0.9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: var(--accent); }
  button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
  form.inline { display: inline; margin: 0; }
  .error { color: var(--bad); background: #fef3f2; border: 1px solid #fecdca; border-radius: 6px; padding: 0.5rem 0.75rem; }
  .notice { background: #ecfdf3; border: 1px solid #abefc6; border-radius: 6px; padding: 0.5rem 0.75rem; }
  .muted { color: var(--muted); font-size: 0.9rem; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 0.6rem 0.4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-size: 0.85rem; color: var(--muted); font-weight: 600; }
  .badge { display: inline-block; font-size: 0.75rem; background: #eef2ff; color: var(--accent); border-radius: 999px; padding: 0 0.5rem; margin-left: 0.4rem; }
  code { background: #eef1f6; padding: 0 0.3rem; border-radius: 4px; }
`;

function layout(title: string, body: string, signedInAs?: string, csrf?: string): string {
  const nav =
    signedInAs === undefined
      ? ''
      : `<a href="/">Home</a><a href="/devices">Your devices</a>
         <form class="inline" method="post" action="/sign-out"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}"><button class="secondary" type="submit">Sign out</button></form>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · sessionsql demo</title>
<style>${STYLE}</style>
</head>
<body>
<header><div><strong>sessionsql demo</strong>${nav}</div></header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** A page with a heading and a short message (HTML, escaped by the caller): refusals and errors. */
export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<div class="card">${message}</div>`);
}

/** "15 minutes", "1 minute", "40 seconds": how long to wait, rounded up. */
export function waitText(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** The sign-in form, with the demo accounts listed and an optional error. */
export function signInPage(options: { accounts: readonly DemoAccount[]; error?: string; username?: string }): string {
  const error = options.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(options.error)}</p>`;
  const accounts = options.accounts
    .map((a) => `<li><code>${escapeHtml(a.id)}</code> / <code>${escapeHtml(a.password)}</code></li>`)
    .join('');
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<div class="card">
${error}
<form method="post" action="/sign-in">
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required value="${escapeHtml(options.username ?? '')}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <p><button type="submit">Sign in</button></p>
</form>
</div>
<div class="card muted">Demo accounts (username / password):<ul>${accounts}</ul></div>`,
  );
}

/** The home page of a signed-in user. */
export function homePage(options: { name: string; csrf: string; signedInAt: number; deviceCount: number }): string {
  const devices = options.deviceCount === 1 ? '1 device' : `${options.deviceCount} devices`;
  return layout(
    'Home',
    `<h1>Signed in as ${escapeHtml(options.name)}</h1>
<div class="card">
  <p>You signed in on this device at ${time(options.signedInAt)}.</p>
  <p>You are signed in on <a href="/devices">${devices}</a>.</p>
</div>`,
    options.name,
    options.csrf,
  );
}

/** "Your devices": every live session of the user, with sign-out buttons. */
export function devicesPage(options: {
  name: string;
  csrf: string;
  devices: readonly DeviceRow[];
  notice?: string;
}): string {
  const csrf = `<input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">`;
  const rows = options.devices
    .map(
      (d) => `<tr data-device="${escapeHtml(d.key)}"${d.current ? ' data-current="true"' : ''}>
  <td><span title="${escapeHtml(d.userAgent)}">${escapeHtml(d.label)}</span>${d.current ? '<span class="badge">this device</span>' : ''}</td>
  <td>${time(d.signedInAt)}</td>
  <td>${time(d.lastActiveAt)}</td>
  <td><form class="inline" method="post" action="/devices/${escapeHtml(d.key)}/sign-out">${csrf}<button class="danger" type="submit">Sign out</button></form></td>
</tr>`,
    )
    .join('\n');
  const others = options.devices.some((d) => !d.current)
    ? `<form method="post" action="/devices/sign-out-others">${csrf}<button class="danger" type="submit">Sign out all other devices</button></form>`
    : '<p class="muted">You are not signed in anywhere else.</p>';
  const notice =
    options.notice === undefined ? '' : `<p class="notice" role="status">${escapeHtml(options.notice)}</p>`;
  return layout(
    'Your devices',
    `<h1>Your devices</h1>
${notice}
<div class="card">
<table>
<thead><tr><th>Device</th><th>Signed in</th><th>Last active</th><th></th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>
<div class="card">${others}</div>`,
    options.name,
    options.csrf,
  );
}

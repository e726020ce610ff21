import { DefaultSessionStore } from 'sessionsql';
import { startTcpProxy } from './tcp-proxy.mjs';

const proxy = await startTcpProxy({ port: 5432 });
const reported = [];
const store = DefaultSessionStore.fromUrl(
  `postgres://postgres@127.0.0.1:${proxy.port}/test?schema=exp_${process.pid}`,
  {
    pruneIntervalMs: 200,
    queryTimeoutMs: 500,
    poolConfig: { connectionTimeoutMillis: 500 },
    onError: (e) => reported.push([Date.now(), e.code, e.message.slice(0, 150)]),
  },
);
await store.set('a', { cookie: { expires: new Date(Date.now() + 60000) }, v: 1 });
proxy.pause();
const t = Date.now();
for (let i = 0; i < 4; i++) {
  try {
    await store.get('a');
  } catch (e) {
    console.log(Date.now() - t, e.code, e.cause?.code);
  }
}
proxy.resume();
console.log('healed', await store.get('a'), Date.now() - t);
await new Promise((r) => setTimeout(r, 1500));
for (const r of reported) console.log(r[0] - t, r[1], r[2]);
const c0 = Date.now();
await store.close();
console.log('closed in', Date.now() - c0);
await proxy.close();
const handles = process._getActiveHandles().map((h) => h.constructor.name);
console.log('handles', handles);

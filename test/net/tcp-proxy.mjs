// A TCP proxy on 127.0.0.1 for fault tests: it forwards every connection to a target and can
// stop forwarding without closing any socket (a network partition), then resume. While paused
// it reads nothing from either side, so bytes, closes and resets wait in the kernel's buffers
// as they would in a real partition (TCP retransmits them once it heals); a connection opened
// while paused is accepted but not forwarded until `resume()`. Used by the test suite
// (test/postgres-faults.test.ts) and by `npm run faults` (scripts/faults/).
import { connect, createServer } from 'node:net';

/**
 * Starts a proxy to `target`; resolves once it listens.
 * @param {{ host?: string, port: number }} target
 * @returns {Promise<import('./tcp-proxy.d.mts').TcpProxy>}
 */
export async function startTcpProxy(target) {
  const host = target.host ?? '127.0.0.1';
  /** @type {Set<{ client: import('node:net').Socket, upstream: import('node:net').Socket | undefined }>} */
  const pairs = new Set();
  let paused = false;
  let accepted = 0;

  /** @param {{ client: import('node:net').Socket, upstream: import('node:net').Socket | undefined }} pair */
  function forward(pair) {
    const { client } = pair;
    const upstream = connect({ host, port: target.port });
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    const close = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      from.on('data', (chunk) => {
        if (!to.write(chunk)) from.pause();
      });
      to.on('drain', () => {
        if (!paused) from.resume();
      });
      from.on('end', () => to.end());
      from.on('error', close);
      from.on('close', close);
    }
    client.resume();
  }

  const server = createServer({ pauseOnConnect: true }, (client) => {
    accepted += 1;
    client.setNoDelay(true);
    const pair = { client, upstream: undefined };
    pairs.add(pair);
    client.on('error', () => {
      client.destroy();
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (!paused) forward(pair);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(undefined));
  });
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());

  return {
    port: address.port,
    get paused() {
      return paused;
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    pause() {
      paused = true;
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream?.pause();
      }
    },
    resume() {
      paused = false;
      for (const pair of pairs) {
        if (pair.upstream === undefined) forward(pair);
        else {
          pair.client.resume();
          pair.upstream.resume();
        }
      }
    },
    dropAll() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream?.destroy();
      }
      pairs.clear();
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream?.destroy();
      }
      pairs.clear();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}

/**
 * A TLS front for a PostgreSQL server that has no SSL: it answers PostgreSQL's SSLRequest with
 * 'S', terminates TLS with the test certificates in ./tls (a CA, a server certificate for
 * `localhost` only, a client certificate) and forwards the plain protocol to the server. A
 * client that does not ask for SSL is forwarded as is. It records what each client did, so a
 * test can tell an encrypted connection from a plain one and see a client certificate.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

const SSL_REQUEST_CODE = 80877103;
const dir = new URL('./tls/', import.meta.url);

/** The test certificate files, by path (for `sslrootcert`, `sslcert`, `sslkey`). */
export const TLS_FILES = {
  /** The authority that signed the server and client certificates. */
  ca: new URL('ca.pem', dir).pathname,
  /** A client certificate (CN=sessionsql-test-client) signed by `ca`, and its key. */
  clientCert: new URL('client.pem', dir).pathname,
  clientKey: new URL('client-key.pem', dir).pathname,
};

/** One connection as the proxy saw it. */
export interface ProxiedConnection {
  /** Whether the client asked for SSL and completed the TLS handshake. */
  tls: boolean;
  /** The common name of the client certificate, when one was presented. */
  clientCertificate?: string;
}

export interface TlsPostgresProxy {
  readonly port: number;
  /** Every connection that got through to the server, in order. */
  readonly connections: readonly ProxiedConnection[];
  close(): Promise<void>;
}

export async function startTlsPostgresProxy(target: { host: string; port: number }): Promise<TlsPostgresProxy> {
  const key = readFileSync(new URL('server-key.pem', dir));
  const cert = readFileSync(new URL('server.pem', dir));
  const ca = readFileSync(new URL('ca.pem', dir));
  const sockets = new Set<Socket>();
  const connections: ProxiedConnection[] = [];

  const pipe = (client: Socket, seen: ProxiedConnection, first?: Buffer) => {
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    connections.push(seen);
    if (first !== undefined) upstream.write(first);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      if (chunk.length === 8 && chunk.readInt32BE(4) === SSL_REQUEST_CODE) {
        socket.write('S');
        const secure = new TLSSocket(socket, {
          isServer: true,
          key,
          cert,
          ca,
          requestCert: true,
          rejectUnauthorized: false,
        });
        secure.on('error', () => socket.destroy());
        secure.once('secure', () => {
          const subject = secure.getPeerCertificate()?.subject as { CN?: string } | undefined;
          pipe(secure as unknown as Socket, { tls: true, ...(subject?.CN ? { clientCertificate: subject.CN } : {}) });
        });
      } else {
        pipe(socket, { tls: false }, chunk);
        socket.resume();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { createServer } from 'node:net';
import { startTestServer, type TestServer } from './server.js';

/** A free TCP port on loopback (closed again at once; the server binds it right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A test server whose resolver host is its own address, so the resolver's redirects (to its verification
 * result and product pages) can be followed as a phone or browser would.
 */
export async function startResolverServer(env: Record<string, string> = {}): Promise<TestServer> {
  const port = await freePort();
  return startTestServer({ PORT: String(port), DPP_RESOLVER_HOST: `http://127.0.0.1:${port}`, ...env });
}

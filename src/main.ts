import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './logging/logger.js';
import { startServer } from './server/app.js';

function firstStartBanner(url: string, secret: string): string {
  return [
    '',
    '================================================================================',
    ' First start on an empty database: created a PLATFORM organisation and API key.',
    ' This key is shown ONCE. Keep it somewhere safe:',
    '',
    `   ${secret}`,
    '',
    ' Try it:',
    `   curl -s ${url}/graphql -H 'content-type: application/json' \\`,
    `     -H 'authorization: Bearer ${secret}' \\`,
    `     -d '{"query":"{ me { kind organization { id name kind } } }"}'`,
    '================================================================================',
    '',
  ].join('\n');
}

/** `npm start`: config → database → server; SIGTERM/SIGINT run the one shutdown path. */
export async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  let server;
  try {
    server = await startServer(config, log);
  } catch (e) {
    // What the environment names but cannot be used (the PKCS#11 module, token or PIN): the message, no stack.
    if (e instanceof ConfigError) {
      log.fatal(e.message);
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  if (server.bootstrap.createdSecret) {
    process.stderr.write(firstStartBanner(`http://localhost:${server.port}`, server.bootstrap.createdSecret));
  }
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}

#!/usr/bin/env node
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { openDatabase } from '../db/orm.js';
import { createLogger } from '../logging/logger.js';

const usage = `dpp: digital product passport backend

Usage:
  dpp serve                     start the API (same as npm start)
  dpp migrate                   apply pending database migrations and exit
  dpp migration:create [name]   generate a migration from the entity definitions (development)
  dpp verify <link|credential.json> --keys <jwks file or URL> [--status <file or URL>] [--online] [--json]
                                check a signed Digital Link or passport credential offline; with --status
                                (or --online: fetch the list the credential names) also its revocation
  dpp log verify-inclusion <proof.json> --checkpoint <note file> --key <verifier key or file>
                                check offline that an event is in the signed transparency-log tree
                                (proof.json as GET /log/proof/inclusion answers it)
  dpp log verify-consistency <proof.json> --old <note file> --new <note file> --key <verifier key or file>
                                check offline that a newer checkpoint extends an older one
  dpp log watch <url> [--key <verifier key or file>] [--state <dir>] [--interval <ms>] [--once]
                                witness a log: poll its checkpoints, verify signatures and consistency,
                                keep them under --state (default .dpp-log-watch); exit 1 on an alert
  dpp demo                      a demo brand, model and three signed units (same as npm run demo)
  dpp schema [--check]          write schema.graphql from the code (--check: fail if it differs)
  dpp help                      this text
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {
      check: { type: 'boolean' },
      keys: { type: 'string' },
      json: { type: 'boolean' },
      status: { type: 'string' },
      online: { type: 'boolean' },
      key: { type: 'string' },
      checkpoint: { type: 'string' },
      old: { type: 'string' },
      new: { type: 'string' },
      state: { type: 'string' },
      interval: { type: 'string' },
      once: { type: 'boolean' },
    },
  });
  const [command = 'help', ...rest] = positionals;
  switch (command) {
    case 'serve': {
      const { main: serve } = await import('../main.js');
      await serve();
      return -1;
    }
    case 'migrate':
    case 'migration:create': {
      const config = loadConfig();
      const log = createLogger(config.logLevel);
      const db = await openDatabase(config, log, { migrate: command === 'migrate' });
      try {
        if (command === 'migration:create') {
          const result = await db.orm.migrator.create('migrations', false, false, rest[0]);
          process.stdout.write(result.fileName ? `created ${result.fileName}\n` : 'no changes\n');
        } else {
          process.stdout.write('migrations are up to date\n');
        }
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'demo': {
      const { demoCommand } = await import('./demo.js');
      return demoCommand();
    }
    case 'verify': {
      const { verifyCommand } = await import('./verify-command.js');
      return verifyCommand(rest[0], values.keys, Boolean(values.json), { status: values.status, online: Boolean(values.online) });
    }
    case 'log': {
      const { logCommand } = await import('./log-command.js');
      return logCommand(rest[0], rest[1], values);
    }
    case 'schema': {
      const { getSchema, printContract } = await import('../graphql/schema.js');
      const { readFileSync, writeFileSync, existsSync } = await import('node:fs');
      const text = printContract(await getSchema());
      if (values.check) {
        const same = existsSync('schema.graphql') && readFileSync('schema.graphql', 'utf8') === text;
        process.stdout.write(same ? 'schema.graphql is up to date\n' : 'schema.graphql differs from the code: run npm run schema\n');
        return same ? 0 : 1;
      }
      writeFileSync('schema.graphql', text);
      process.stdout.write('wrote schema.graphql\n');
      return 0;
    }
    case 'help':
      process.stdout.write(usage);
      return 0;
    default:
      process.stderr.write(`unknown command: ${command}\n\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);

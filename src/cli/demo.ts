import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import { gtinCheckDigit } from '../gs1/index.js';
import { createLogger } from '../logging/logger.js';
import { runBatteryDemo } from './demo-battery.js';

type Gql = <T>(query: string, variables?: Record<string, unknown>, key?: string) => Promise<T>;

function client(url: string): Gql {
  return async (query, variables, key) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: never; errors?: { message: string; extensions?: { code?: string } }[] };
    if (body.errors?.length) throw new Error(body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; '));
    return body.data!;
  };
}

async function isUp(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1500) })).ok;
  } catch {
    return false;
  }
}

async function runDemo(url: string, platformKey: string, publicUrl = url): Promise<void> {
  const gql = client(url);
  const out = (s = '') => process.stdout.write(`${s}\n`);
  const prefix = '4260123';
  const body = prefix + String(10000 + (randomBytes(2).readUInt16BE() % 90000));
  const gtin = body + gtinCheckDigit(body);

  const brand = await gql<{ createOrganization: { id: string } }>(
    'mutation($i: OrganizationInput!) { createOrganization(input: $i) { id } }',
    { i: { name: 'Demo Audio GmbH', kind: 'BRAND', gs1CompanyPrefixes: [prefix], markets: ['DE', 'FR', 'NL'] } },
    platformKey,
  );
  const brandId = brand.createOrganization.id;
  const key = (await gql<{ createApiKey: { secret: string } }>('mutation($o: ID!) { createApiKey(organizationId: $o, label: "demo") { secret } }', { o: brandId }, platformKey)).createApiKey.secret;
  await gql(
    'mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }',
    {
      i: {
        gtin,
        name: 'Studio Headphones DX-1',
        category: 'audio',
        warrantyMonths: 24,
        authorisedMarkets: ['DE', 'FR', 'NL'],
        maxLifetimeScans: 500,
        dpp: {
          materials: [
            { name: 'aluminium', massPercent: 41, recycledContentPercent: 60 },
            { name: 'ABS plastic', massPercent: 35 },
          ],
          carbonFootprint: { kgCO2e: 12.4, method: 'ISO 14067', scope: 'cradle-to-gate' },
          repair: { repairabilityScore: 8.1, sparePartsAvailableYears: 7 },
        },
      },
    },
    key,
  );
  const minted = await gql<{ mintPassports: { id: string; passports: { id: string; serial: string; sgtinUri: string; claimCode: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id serial sgtinUri claimCode } } }',
    { i: { gtin, quantity: 3, lot: 'DEMO1', site: 'Plant Leipzig', idempotencyKey: `demo-${gtin}` } },
    key,
  );
  const signed = await gql<{ signPassports: { signed: number; kid: string } }>('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed kid } }', { b: minted.mintPassports.id }, key);
  const units = await Promise.all(
    minted.mintPassports.passports.map((p) =>
      gql<{ passport: { digitalLink: string; verifiableCredential: unknown } }>('query($id: ID!) { passport(id: $id) { digitalLink verifiableCredential } }', { id: p.id }, key),
    ),
  );
  writeFileSync('demo-jwks.json', await (await fetch(`${url}/.well-known/jwks.json`)).text());
  writeFileSync('demo-credential.json', JSON.stringify(units[0]!.passport.verifiableCredential, null, 2));

  out('Demo brand "Demo Audio GmbH" with model Studio Headphones DX-1');
  out(`  brand id ${brandId}, GTIN ${gtin}, brand API key (shown once): ${key}`);
  out(`  minted ${minted.mintPassports.passports.length} units in batch ${minted.mintPassports.id}, signed ${signed.signPassports.signed} with key ${signed.signPassports.kid}`);
  out();
  minted.mintPassports.passports.forEach((p, i) => {
    out(`Unit ${i + 1}: serial ${p.serial}  (claim code for the packaging: ${p.claimCode})`);
    out(`  EPC:          ${p.sgtinUri}`);
    out(`  Digital Link: ${units[i]!.passport.digitalLink}`);
  });
  out();
  out('The Digital Link is the unit\'s resolver URL (what the QR code holds). Check it offline with the brand\'s');
  out('published keys (saved to demo-jwks.json from /.well-known/jwks.json):');
  out(`  npm run -s dpp -- verify '${units[0]!.passport.digitalLink}' --keys demo-jwks.json`);
  out('and the unit\'s W3C verifiable credential (saved to demo-credential.json):');
  out('  npm run -s dpp -- verify demo-credential.json --keys demo-jwks.json');
  out(`or against the live key set of the running server: --keys ${publicUrl}/.well-known/jwks.json`);
  await runBatteryDemo(gql, platformKey, out);
}

/**
 * `npm run demo`: against the server at DPP_URL (or http://localhost:PORT when one answers there,
 * with DPP_API_KEY = a PLATFORM key), else on the embedded database, started here for the demo.
 */
export async function demoCommand(): Promise<number> {
  const env = process.env;
  const url = env.DPP_URL ?? `http://localhost:${env.PORT ?? 4000}`;
  if (await isUp(url)) {
    const key = env.DPP_API_KEY ?? env.DPP_BOOTSTRAP_API_KEY;
    if (!key) {
      process.stderr.write(`A server answers at ${url}: set DPP_API_KEY to its PLATFORM API key (printed on its first start).\n`);
      return 2;
    }
    await runDemo(url, key);
    return 0;
  }
  if (env.DPP_URL) {
    process.stderr.write(`No server answers at ${env.DPP_URL}.\n`);
    return 1;
  }
  const { startServer } = await import('../server/app.js');
  const demoKey = `dpp_${randomBytes(24).toString('base64url')}`;
  // Links point where `npm start` will serve them, not at this temporary port.
  const config: Config = loadConfig({
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
    DPP_RESOLVER_HOST: env.DPP_RESOLVER_HOST ?? url,
    WEBAUTHN_ORIGINS: env.WEBAUTHN_ORIGINS ?? url,
    DPP_BOOTSTRAP_API_KEY: env.DPP_BOOTSTRAP_API_KEY ?? demoKey,
  });
  const server = await startServer(config, createLogger(config.logLevel));
  try {
    process.stdout.write(`(no server at ${url}: using the embedded database in ${config.databaseUrl ? 'DATABASE_URL' : config.dataDir}; start it with npm start to serve these units)\n\n`);
    await runDemo(server.url, config.bootstrapApiKey!, url);
  } finally {
    await server.close();
  }
  return 0;
}

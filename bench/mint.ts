/**
 * `npm run bench:mint`: mint and sign 100,000 units end to end over HTTP against the PostgreSQL in
 * DATABASE_URL (a fresh database is created beside it and dropped after), beside this machine's own
 * limits measured in the same run: raw node:crypto Ed25519 signatures/s and raw COPY rows/s of the same rows.
 * Then the same signed mint with the key in a SoftHSM2 token (DPP_KEY_STORE=pkcs11), when SoftHSM2 is installed.
 */
import 'reflect-metadata';
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EBIKE_BATTERY_DATA } from '../src/cli/demo-battery.js';
import { gtinCheckDigit, generateSerial } from '../src/gs1/index.js';
import { identityBytes } from '../src/modules/passports/identity.js';
import { benchDatabaseUrl, line, machineLine, startBenchServer, withDatabase } from './harness.js';
import { rawTokenSignRate, softHsmToken } from './softhsm.js';

/** bench:mint prints whole numbers. */
const lineRounded = (name: string, value: number, unit: string) => line(name, Math.round(value), unit);
const N = Number(process.env.BENCH_UNITS ?? 100_000);
const base = benchDatabaseUrl('bench:mint');

/** Raw Ed25519 signatures per second with node:crypto on one core, over the same identity records. */
function rawSignRate(): number {
  const { privateKey } = generateKeyPairSync('ed25519');
  const gtin = '0' + '614141' + '00001' + '2';
  const messages = Array.from({ length: 20_000 }, () => identityBytes({ gtin, serial: generateSerial(), lot: 'L1' }));
  const t0 = performance.now();
  for (const m of messages) sign(null, m, privateKey);
  return messages.length / ((performance.now() - t0) / 1000);
}

type CopyRates = { passportRowsPerSecond: number; unitRowsPerSecond: number; unitsPerSecond: number };

/**
 * Raw COPY with pg, of the rows minting and signing write for one unit: its passport row and its two
 * history rows (MINTED, SIGNED). Two figures: passport rows alone into a bare same-shaped table, and
 * all three rows per unit into same-shaped tables that keep their indexes (`including all`; foreign
 * keys and triggers are not copied), which is the database work a unit really needs.
 */
async function rawCopyRates(url: string): Promise<CopyRates> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const now = new Date().toISOString();
  const batch = randomUUID();
  const brand = randomUUID();
  const model = randomUUID();
  const units = Array.from({ length: N }, () => ({ id: randomUUID(), serial: generateSerial(), h1: randomBytes(32).toString('hex'), h2: randomBytes(32).toString('hex') }));
  const passportRows = units.map(
    (u) => `${u.id}\t00614141000012\t${u.serial}\t${brand}\t${model}\t${batch}\tL1\t\\N\t${now}\tQR\t{}\tSIGNED\t${u.h2.slice(0, 86)}\tkid\t${now}\t${u.h2}\t2\t${u.h1}\t${now}\t${now}\n`,
  );
  const eventRows = units.flatMap((u) => [
    `${randomUUID()}\t${u.id}\t1\tMINTED\t${now}\t${now}\t${brand}\t{"batchId":"${batch}","gtin":"00614141000012","serial":"${u.serial}","lot":"L1","site":null,"carrier":"QR"}\t\\N\t${u.h1}\n`,
    `${randomUUID()}\t${u.id}\t2\tSIGNED\t${now}\t${now}\t${brand}\t{"kid":"kid","algorithm":"Ed25519","signature":"${u.h2.slice(0, 86)}"}\t${u.h1}\t${u.h2}\n`,
  ]);
  const passportColumns =
    'id, gtin, serial, brand_id, model_id, batch_id, lot, site, manufactured_at, carrier, destination_markets, status, signature, kid, signed_at, head_hash, head_seq, claim_code_hash, created_at, updated_at';
  const eventColumns = 'id, passport_id, seq, type, occurred_at, recorded_at, actor_id, payload, prev_hash, hash';
  const copy = (table: string, columns: string, rows: string[]) => pipeline(Readable.from(rows), client.query(copyFrom(`copy ${table} (${columns}) from stdin`)));

  await client.query('create table copy_bare (like passport including defaults)');
  let t0 = performance.now();
  await copy('copy_bare', passportColumns, passportRows);
  const passportRowsPerSecond = N / ((performance.now() - t0) / 1000);

  await client.query('create table copy_passport (like passport including all)');
  await client.query('create table copy_event (like lifecycle_event including all)');
  t0 = performance.now();
  await client.query('begin');
  await copy('copy_passport', passportColumns, passportRows);
  await copy('copy_event', eventColumns, eventRows);
  await client.query('commit');
  const seconds = (performance.now() - t0) / 1000;
  await client.query('drop table copy_bare, copy_passport, copy_event');
  await client.end();
  return { passportRowsPerSecond, unitRowsPerSecond: (3 * N) / seconds, unitsPerSecond: N / seconds };
}

/** Streams a batch's label CSV (as a brand's label software would) and counts its data rows. */
async function countCsvRows(url: string, apiKey: string): Promise<number> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
  if (!res.ok || !res.body) throw new Error(`label CSV: HTTP ${res.status}`);
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) for (const byte of chunk) if (byte === 10) lines++;
  return lines - 1;
}

const mintQuery = 'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id serial sgtinUri digitalLink claimCode } } }';
type Minted = { mintPassports: { id: string; passports: { id: string; digitalLink: string }[] } };

/**
 * The PKCS#11 variant (issue 24): the same one-call signed mint with the brand's key in a SoftHSM2 token,
 * signed on the store's pool of token sessions, beside one session's raw CKM_EDDSA rate.
 */
async function pkcs11Variant(localRate: number): Promise<void> {
  const token = softHsmToken();
  if (typeof token === 'string') {
    process.stdout.write(`pkcs11 variant skipped: ${token}\n`);
    return;
  }
  try {
    let rate = 0;
    let sessions = 0;
    await withDatabase(base, async (url) => {
      const { server, config, gql } = await startBenchServer(url, { DPP_MAX_BODY_BYTES: String(8 * 1024 * 1024), ...token.env });
      sessions = config.keyStore.kind === 'pkcs11' ? config.keyStore.sessions : 0;
      try {
        const brand = await gql<{ createOrganization: { id: string } }>('mutation { createOrganization(input: { name: "Bench HSM", kind: BRAND, gs1CompanyPrefixes: ["0614141"] }) { id } }', {}, config.bootstrapApiKey!);
        const key = (await gql<{ createApiKey: { secret: string } }>('mutation($o: ID!) { createApiKey(organizationId: $o, label: "bench") { secret } }', { o: brand.createOrganization.id }, config.bootstrapApiKey!)).createApiKey.secret;
        const gtin = '061414100001' + gtinCheckDigit('061414100001');
        await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Bench model' } }, key);
        await gql('mutation { rotateSigningKey { kid } }', {}, key);
        await gql(mintQuery, { i: { gtin, quantity: 2000, lot: 'W1', idempotencyKey: 'warm-hsm', sign: true } }, key);
        const t0 = performance.now();
        const both = await gql<Minted>(mintQuery, { i: { gtin, quantity: N, lot: 'L1', idempotencyKey: 'bench-hsm', sign: true } }, key);
        rate = N / ((performance.now() - t0) / 1000);
        if (both.mintPassports.passports.length !== N || !both.mintPassports.passports.every((p) => p.digitalLink.includes('?sig='))) throw new Error('unexpected PKCS#11 mint result');
      } finally {
        await server.close();
      }
    });
    const gtin = '0' + '614141' + '00001' + '2';
    const session = rawTokenSignRate(token, Array.from({ length: 5_000 }, () => identityBytes({ gtin, serial: generateSerial(), lot: 'L1' })));
    lineRounded(`pkcs11 (SoftHSM2, ${sessions} sessions): mint + sign (one call, sign: true)`, rate, 'units/s');
    lineRounded('pkcs11 to the local store (same call)', (rate / localRate) * 100, '%');
    lineRounded('limit: SoftHSM2 CKM_EDDSA sign, one session', session, 'signatures/s');
    process.stdout.write(`mint, pkcs11: ${Math.round(rate)} units/s, ${(rate / (session * sessions)).toFixed(2)} of ${sessions} sessions' raw token rate (${Math.round(session * sessions)} signatures/s)\n`);
  } finally {
    token.remove();
  }
}

async function main() {
  machineLine();
  let localRate = 0;
  await withDatabase(base, async (url) => {
    const { server, config, gql } = await startBenchServer(url, { DPP_MAX_BODY_BYTES: String(8 * 1024 * 1024) });
    try {
      const brand = await gql<{ createOrganization: { id: string } }>('mutation { createOrganization(input: { name: "Bench", kind: BRAND, gs1CompanyPrefixes: ["0614141"] }) { id } }', {}, config.bootstrapApiKey!);
      const key = (await gql<{ createApiKey: { secret: string } }>('mutation($o: ID!) { createApiKey(organizationId: $o, label: "bench") { secret } }', { o: brand.createOrganization.id }, config.bootstrapApiKey!)).createApiKey.secret;
      const body = '061414100001';
      const gtin = body + gtinCheckDigit(body);
      await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Bench model' } }, key);
      // A battery model (issue 21) beside the plain one: its units must mint as fast (per-battery data is read-time).
      const batteryBody = '061414100002';
      const batteryGtin = batteryBody + gtinCheckDigit(batteryBody);
      await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: batteryGtin, name: 'Bench battery', battery: { category: 'LMT', data: EBIKE_BATTERY_DATA } } }, key);
      await gql('mutation { rotateSigningKey { kid } }', {}, key);

      // Warm-up: a small batch each way, so the figures are a running server's (JIT, worker threads started, key loaded).
      await gql(mintQuery, { i: { gtin, quantity: 2000, lot: 'W1', idempotencyKey: 'warm-both', sign: true } }, key);
      const warm = await gql<Minted>(mintQuery, { i: { gtin, quantity: 2000, lot: 'W2', idempotencyKey: 'warm' } }, key);
      await gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: warm.mintPassports.id }, key);
      await gql(mintQuery, { i: { gtin: batteryGtin, quantity: 2000, lot: 'W3', idempotencyKey: 'warm-battery', sign: true } }, key);

      // One call that mints and signs (what a brand sends when the units should ship signed).
      const t0 = performance.now();
      const both = await gql<Minted>(mintQuery, { i: { gtin, quantity: N, lot: 'L1', idempotencyKey: 'bench-both', sign: true } }, key);
      const tBoth = performance.now();
      if (both.mintPassports.passports.length !== N || !both.mintPassports.passports.every((p) => p.digitalLink.includes('?sig='))) {
        throw new Error('unexpected mint-and-sign result');
      }
      // The same call for the battery model, in the same run.
      const tb0 = performance.now();
      const battery = await gql<Minted>(mintQuery, { i: { gtin: batteryGtin, quantity: N, lot: 'L3', idempotencyKey: 'bench-battery', sign: true } }, key);
      const tb1 = performance.now();
      if (battery.mintPassports.passports.length !== N) throw new Error('unexpected battery mint result');
      // The same call without the units in the answer: a large batch's units are read from its label CSV
      // (ids, links and claim codes, streamed), so the mint itself need not build a 20 MB GraphQL response.
      const tl0 = performance.now();
      const lean = await gql<{ mintPassports: { id: string; labels: { csvUrl: string } } }>(
        'mutation($i: MintInput!) { mintPassports(input: $i) { id labels { csvUrl } } }',
        { i: { gtin, quantity: N, lot: 'L4', idempotencyKey: 'bench-lean', sign: true } },
        key,
      );
      const tl1 = performance.now();
      const csvRows = await countCsvRows(`${server.url}${new URL(lean.mintPassports.labels.csvUrl).pathname}`, key);
      const tl2 = performance.now();
      if (csvRows !== N) throw new Error(`unexpected CSV rows: ${csvRows}`);
      // The same work as two calls: mint, then sign the batch.
      const t1 = performance.now();
      const minted = await gql<Minted>(mintQuery, { i: { gtin, quantity: N, lot: 'L2', idempotencyKey: 'bench' } }, key);
      const t2 = performance.now();
      const signed = await gql<{ signPassports: { signed: number } }>('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: minted.mintPassports.id }, key);
      const t3 = performance.now();
      if (minted.mintPassports.passports.length !== N || signed.signPassports.signed !== N) throw new Error('unexpected counts');

      const bothRate = N / ((tBoth - t0) / 1000);
      localRate = bothRate;
      const batteryRate = N / ((tb1 - tb0) / 1000);
      const mintRate = N / ((t2 - t1) / 1000);
      const signRate = N / ((t3 - t2) / 1000);
      const twoCallRate = N / ((t3 - t1) / 1000);
      const leanRate = N / ((tl1 - tl0) / 1000);
      const csvRate = N / ((tl2 - tl1) / 1000);
      const sigLimit = rawSignRate();
      const copy = await rawCopyRates(url);
      const limit = Math.min(sigLimit, copy.unitsPerSecond);
      lineRounded('units', N, 'units');
      lineRounded('mint (HTTP, one call)', mintRate, 'units/s');
      lineRounded('sign (HTTP, one call)', signRate, 'units/s');
      lineRounded('mint, then sign (two calls)', twoCallRate, 'units/s');
      lineRounded('mint + sign (one call, sign: true)', bothRate, 'units/s');
      lineRounded('mint + sign, battery model (one call, sign: true)', batteryRate, 'units/s');
      lineRounded('mint + sign, units not in the answer (one call)', leanRate, 'units/s');
      lineRounded('  then the batch label CSV (streamed, one GET)', csvRate, 'units/s');
      lineRounded('battery model to plain model', (batteryRate / bothRate) * 100, '%');
      lineRounded('limit: node:crypto Ed25519 sign, one core', sigLimit, 'signatures/s');
      lineRounded('limit: pg COPY of passport rows into a bare table', copy.passportRowsPerSecond, 'rows/s');
      lineRounded('limit: pg COPY of a unit\'s rows (passport + 2 events) into indexed tables', copy.unitRowsPerSecond, 'rows/s');
      lineRounded('limit: pg COPY, as units', copy.unitsPerSecond, 'units/s');
      lineRounded('ratio to the signature limit alone', (bothRate / sigLimit) * 100, '%');
      process.stdout.write(`mint: ${Math.round(bothRate)} units/s, ${(bothRate / limit).toFixed(2)} of limit (${Math.round(limit)} units/s)\n`);
      process.stdout.write(`mint, units from the CSV: ${Math.round(leanRate)} units/s, ${(leanRate / limit).toFixed(2)} of limit\n`);
    } finally {
      await server.close();
    }
  });
  await pkcs11Variant(localRate);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});

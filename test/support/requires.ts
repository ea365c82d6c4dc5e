import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

// What the suite needs from outside the clone (a browser, Redis, the shared vectors), checked in one place.
// Present: the tests run. Missing: they are skipped with one loud line saying what and how to run them.
// Missing under CI (CI=true) or with the need's DPP_REQUIRE_* variable: the file fails, so a proof can
// never vanish silently where it is expected.

type Need = { what: string; requireVar: string; howTo: string };

const truthy = (v: string | undefined) => v === '1' || v?.toLowerCase() === 'true';

/** Why a missing need must fail here, or undefined when skipping is allowed. */
function requiredBecause(need: Need, alsoRequiredBy?: string): string | undefined {
  if (truthy(process.env.CI) && need.requireVar !== 'DPP_REQUIRE_VECTORS') return 'CI=true';
  if (truthy(process.env[need.requireVar])) return `${need.requireVar}=1`;
  return alsoRequiredBy;
}

/** True when present; false (after one warning) when missing and skippable; throws when missing and required. */
function settle(need: Need, missing: string | undefined, alsoRequiredBy?: string): boolean {
  if (missing === undefined) return true;
  const because = requiredBecause(need, alsoRequiredBy);
  if (because) throw new Error(`${need.what} cannot run: ${missing}; ${because} requires it. To run: ${need.howTo}.`);
  console.warn(`SKIPPED ${need.what}: ${missing}. To run: ${need.howTo} (${need.requireVar === 'DPP_REQUIRE_VECTORS' ? '' : 'CI=true or '}${need.requireVar}=1 makes this a failure).`);
  return false;
}

/** The Chromium or Chrome binary to drive (DPP_CHROMIUM_PATH, else Debian's /usr/bin/chromium), or undefined to skip. */
export function chromiumFor(what: string): string | undefined {
  const explicit = process.env.DPP_CHROMIUM_PATH || undefined;
  const binary = explicit ?? '/usr/bin/chromium';
  let missing: string | undefined;
  try {
    // Run it: a path that exists but is no browser (an empty file, /dev/null bound over it) counts as missing.
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (!/chrom/i.test(out)) missing = `${binary} --version answered ${JSON.stringify(out.slice(0, 80))}, not a Chromium or Chrome`;
  } catch (e) {
    missing = `no working Chromium at ${binary} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message.split('\n')[0]})`;
  }
  const need = { what, requireVar: 'DPP_REQUIRE_BROWSER', howTo: 'apt-get install chromium, or DPP_CHROMIUM_PATH=/path/to/chromium-or-chrome npm test' };
  return settle(need, missing, explicit && 'DPP_CHROMIUM_PATH set') ? binary : undefined;
}

/** A Redis that answers PING (DPP_TEST_REDIS_URL, else redis://127.0.0.1:6379), or undefined to skip. */
export async function redisFor(what: string): Promise<string | undefined> {
  const url = process.env.DPP_TEST_REDIS_URL || 'redis://127.0.0.1:6379';
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  let cause: Error | undefined;
  client.on('error', (e: Error) => void (cause ??= e));
  let missing: string | undefined;
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') missing = `${url} answered PING with ${JSON.stringify(pong)}`;
  } catch (e) {
    missing = `no Redis answers at ${url} (${(cause ?? (e as Error)).message})`;
  } finally {
    client.disconnect();
  }
  const need = { what, requireVar: 'DPP_REQUIRE_REDIS', howTo: 'run Redis on 127.0.0.1:6379 (apt-get install redis-server), or DPP_TEST_REDIS_URL=redis://host:port npm test' };
  return settle(need, missing, process.env.DPP_TEST_REDIS_URL && 'DPP_TEST_REDIS_URL set') ? url : undefined;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// DPP_VECTORS_DIR when set (.ci/run sets it when the folder is beside the clone's origin rather than the clone).
const sharedVectors = process.env.DPP_VECTORS_DIR || path.resolve(repoRoot, '..', 'shared', 'vectors');
let vectorsChecked: string | undefined | null = null;

/**
 * The shared public test vectors folder (../shared/vectors beside the clone), or undefined to skip; checked once
 * per file. Not the machine's to install: CI=true alone does not require it (.ci/run does, with
 * DPP_REQUIRE_VECTORS=1, whenever it finds the folder).
 */
export function vectorsFor(what: string): string | undefined {
  if (vectorsChecked !== null) return vectorsChecked;
  const missing = existsSync(sharedVectors) ? undefined : `the shared vectors folder ${sharedVectors} is absent`;
  const need = { what, requireVar: 'DPP_REQUIRE_VECTORS', howTo: `put the public vectors (Wycheproof, W3C, RFC 8785, GS1 EPCIS, UNTP, Battery Pass) at ${sharedVectors}, or set DPP_VECTORS_DIR` };
  vectorsChecked = settle(need, missing) ? sharedVectors : undefined;
  return vectorsChecked;
}

/** A command-line tool from Debian's packages (a decoder we did not write), or undefined to skip. */
export function binaryFor(what: string, binary: string, aptPackage: string, versionArgs: string[] = ['--version']): string | undefined {
  let missing: string | undefined;
  try {
    execFileSync(binary, versionArgs, { stdio: 'ignore', timeout: 10_000 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A tool that ran but exits non-zero for --version is present; only "not there" counts as missing.
    if (code === 'ENOENT' || code === 'EACCES') missing = `${binary} is not installed`;
  }
  const need = { what, requireVar: 'DPP_REQUIRE_DECODERS', howTo: `apt-get install ${aptPackage}` };
  return settle(need, missing) ? binary : undefined;
}

/** Debian's SoftHSM2 library (or DPP_SOFTHSM_MODULE). */
export const SOFTHSM_MODULE = process.env.DPP_SOFTHSM_MODULE || '/usr/lib/softhsm/libsofthsm2.so';

/**
 * SoftHSM2 (library and softhsm2-util), OpenSC's pkcs11-tool and the built pkcs11js binding, for the PKCS#11
 * key store's tests; true when all are here, false (after one warning) to skip.
 */
export function softHsmFor(what: string): boolean {
  const missing: string[] = [];
  if (!existsSync(SOFTHSM_MODULE)) missing.push(`no SoftHSM2 library at ${SOFTHSM_MODULE}`);
  for (const [tool, args] of [['softhsm2-util', ['--version']], ['pkcs11-tool', ['--help']]] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore', timeout: 10_000 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') missing.push(`${tool} is not installed`);
    }
  }
  try {
    createRequire(import.meta.url)('pkcs11js');
  } catch (e) {
    missing.push(`the pkcs11js binding does not load (${(e as Error).message.split('\n')[0]}; npm ci builds it with python3, make and g++)`);
  }
  const need = { what, requireVar: 'DPP_REQUIRE_HSM', howTo: 'apt-get install softhsm2 opensc, and npm rebuild pkcs11js' };
  return settle(need, missing.length ? missing.join('; ') : undefined, process.env.DPP_SOFTHSM_MODULE && 'DPP_SOFTHSM_MODULE set');
}

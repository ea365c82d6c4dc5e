import { existsSync, readFileSync } from 'node:fs';
import { type Jwks, type OfflineVerdict, verifyOffline } from '../verify/offline-verifier.js';

async function loadKeys(source: string): Promise<Jwks> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`could not fetch keys from ${source}: HTTP ${res.status}`);
    return (await res.json()) as Jwks;
  }
  return JSON.parse(readFileSync(source, 'utf8')) as Jwks;
}

/** What the argument is: a credential file, inline credential JSON, or a link. */
function readSubject(arg: string): string | Record<string, unknown> {
  const text = existsSync(arg) ? readFileSync(arg, 'utf8').trim() : arg.trim();
  return text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : text;
}

/** `dpp verify <digital-link | credential.json> --keys <jwks file or URL>`: exit 0 only when valid. */
export async function verifyCommand(subject: string | undefined, keys: string | undefined, json: boolean): Promise<number> {
  if (!subject || !keys) {
    process.stderr.write('usage: dpp verify <digital-link | credential.json> --keys <jwks file or URL> [--json]\n');
    return 2;
  }
  let verdict: OfflineVerdict;
  try {
    verdict = verifyOffline(readSubject(subject), await loadKeys(keys));
  } catch (e) {
    verdict = { valid: false, kind: 'unknown', reasons: [(e as Error).message] };
  }
  if (json) process.stdout.write(`${JSON.stringify(verdict)}\n`);
  else {
    process.stdout.write(`${verdict.valid ? 'VALID' : 'INVALID'} (${verdict.kind})\n`);
    for (const r of verdict.reasons) process.stdout.write(`  - ${r}\n`);
  }
  return verdict.valid ? 0 : 1;
}

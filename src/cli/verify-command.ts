import { existsSync, readFileSync } from 'node:fs';
import { type Jwks, type OfflineVerdict, verifyOffline } from '../verify/offline-verifier.js';
import { checkStatus, issuerOf, JWS, type StatusSource, verifyAnyForm } from '../verify/status-check.js';

const isUrl = (s: string) => /^https?:\/\//.test(s);

/** A file or URL as text. */
async function load(source: string, accept = 'application/json'): Promise<string> {
  if (!isUrl(source)) return readFileSync(source, 'utf8');
  const res = await fetch(source, { signal: AbortSignal.timeout(10_000), headers: { accept } });
  if (!res.ok) throw new Error(`could not fetch ${source}: HTTP ${res.status}`);
  return res.text();
}

/** JSON text as a value; anything else (a bare JWS) as trimmed text. */
function parse(text: string): unknown {
  const t = text.trim();
  return t.startsWith('{') ? JSON.parse(t) : t;
}

/** What the argument is: a credential file, inline credential JSON, or a link. */
function readSubject(arg: string): string | Record<string, unknown> {
  const text = existsSync(arg) ? readFileSync(arg, 'utf8').trim() : arg.trim();
  return text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : text;
}

export type VerifyOptions = { status?: string; online?: boolean };
type Verdict = OfflineVerdict & { status?: string };

/**
 * `dpp verify <digital-link | credential.json> --keys <jwks> [--status <file|url>] [--online]`: exit 0 only
 * when valid. With --status the credential's status entries are checked against that list credential (a file
 * or URL, JSON or vc+jwt); with --online the lists the credential names are fetched. REVOKED exits 1.
 */
export async function verifyCommand(subject: string | undefined, keys: string | undefined, json: boolean, opts: VerifyOptions = {}): Promise<number> {
  if (!subject || !keys) {
    process.stderr.write('usage: dpp verify <digital-link | credential.json> --keys <jwks file or URL> [--status <file or URL>] [--online] [--json]\n');
    return 2;
  }
  let verdict: Verdict;
  try {
    const jwks = JSON.parse(await load(keys)) as Jwks;
    let input = readSubject(subject);
    if ((typeof input === 'string' && JWS.test(input)) || (typeof input !== 'string' && input.type === 'EnvelopedVerifiableCredential')) {
      const opened = await verifyAnyForm(input, jwks);
      if (typeof opened === 'string') verdict = { valid: false, kind: 'credential', reasons: [opened] };
      else if (typeof issuerOf(opened.credential) !== 'string' || !opened.vm.startsWith(`${issuerOf(opened.credential)}#`)) {
        verdict = { valid: false, kind: 'credential', reasons: ['the vc+jwt is signed by a key of another issuer than the credential names'] };
      } else {
        input = opened.credential;
        verdict = { valid: true, kind: 'credential', kid: opened.vm.slice(opened.vm.lastIndexOf('#') + 1), reasons: ['vc+jwt (JOSE) signature verifies with a published key'] };
      }
    } else verdict = verifyOffline(input, jwks);
    if (verdict.valid && typeof input !== 'string' && (opts.status || opts.online)) {
      const source: StatusSource = async (url) => parse(await load(opts.status ?? url));
      const status = await checkStatus(input, source, jwks);
      verdict = { ...verdict, valid: status.state === 'VALID', status: status.state, reasons: [...verdict.reasons, ...status.reasons] };
    }
  } catch (e) {
    verdict = { valid: false, kind: 'unknown', reasons: [(e as Error).message] };
  }
  const word = verdict.status && verdict.status !== 'VALID' ? verdict.status : verdict.valid ? 'VALID' : 'INVALID';
  if (json) process.stdout.write(`${JSON.stringify(verdict)}\n`);
  else {
    process.stdout.write(`${word} (${verdict.kind})\n`);
    for (const r of verdict.reasons) process.stdout.write(`  - ${r}\n`);
  }
  return verdict.valid ? 0 : 1;
}

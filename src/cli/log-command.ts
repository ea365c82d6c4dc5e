import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { leafHash, verifyConsistency, verifyInclusion } from '../crypto/merkle.js';
import { type Checkpoint, type NoteVerifier, openCheckpoint, parseVerifierKey } from '../crypto/signed-note.js';

/** `dpp log …`: offline checks of saved proofs and checkpoints, and a watcher (witness) of a live log. */
export type LogOptions = { key?: string; checkpoint?: string; old?: string; new?: string; state?: string; interval?: string; once?: boolean };

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

/** A verifier key given inline (`name+id+key`) or as a file holding one. */
function loadKey(value: string | undefined): NoteVerifier {
  if (!value) throw new Error('--key: the log verifier key (as GET /.well-known/log-key gives it), or a file holding it');
  const text = existsSync(value) ? readFileSync(value, 'utf8').trim() : value;
  return parseVerifierKey(text);
}

const hashes = (list: unknown, what: string): Buffer[] => {
  if (!Array.isArray(list) || !list.every((h) => typeof h === 'string')) throw new Error(`${what}: a list of base64 hashes`);
  return list.map((h: string) => Buffer.from(h, 'base64'));
};

function readJson(file: string | undefined, what: string): Record<string, unknown> {
  if (!file) throw new Error(`${what}: a JSON file`);
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function readCheckpoint(file: string | undefined, key: NoteVerifier, what: string): Checkpoint {
  if (!file) throw new Error(`${what}: a checkpoint file (the signed note GET /log/checkpoint serves)`);
  return openCheckpoint(readFileSync(file, 'utf8'), key);
}

/** `dpp log verify-inclusion <proof.json> --checkpoint <note> --key <vkey>`: the event is in the signed tree. */
function verifyInclusionCommand(file: string | undefined, o: LogOptions): number {
  const key = loadKey(o.key);
  const cp = readCheckpoint(o.checkpoint, key, '--checkpoint');
  const proof = readJson(file, 'proof');
  const { leafIndex, treeSize, eventHash } = proof as { leafIndex?: unknown; treeSize?: unknown; eventHash?: unknown };
  if (typeof leafIndex !== 'number' || typeof treeSize !== 'number') throw new Error('proof: leafIndex and treeSize are numbers (null: not in the log yet)');
  if (treeSize !== cp.treeSize) throw new Error(`the proof is for a tree of ${treeSize} leaves, the checkpoint is of ${cp.treeSize}; ask for the proof at treeSize=${cp.treeSize}`);
  let leaf: Buffer;
  if (typeof eventHash === 'string' && /^[0-9a-f]{64}$/.test(eventHash)) leaf = leafHash(Buffer.from(eventHash, 'hex'));
  else if (typeof proof.leafHash === 'string') leaf = Buffer.from(proof.leafHash, 'base64');
  else throw new Error('proof: eventHash (hex) or leafHash (base64)');
  if (typeof proof.leafHash === 'string' && !leaf.equals(Buffer.from(proof.leafHash, 'base64'))) {
    out('INVALID: the leaf hash is not SHA-256(0x00 || eventHash)');
    return 1;
  }
  if (!verifyInclusion(leafIndex, treeSize, leaf, hashes(proof.hashes, 'proof.hashes'), cp.rootHash)) {
    out(`INVALID: leaf ${leafIndex} is not in the tree of ${treeSize} leaves signed by ${key.name}`);
    return 1;
  }
  out(`VALID: leaf ${leafIndex}${typeof eventHash === 'string' ? ` (event hash ${eventHash})` : ''} is in the tree of ${treeSize} leaves signed by ${key.name}`);
  return 0;
}

/** `dpp log verify-consistency <proof.json> --old <note> --new <note> --key <vkey>`: the newer tree extends the older. */
function verifyConsistencyCommand(file: string | undefined, o: LogOptions): number {
  const key = loadKey(o.key);
  const older = readCheckpoint(o.old, key, '--old');
  const newer = readCheckpoint(o.new, key, '--new');
  const proof = readJson(file, 'proof');
  const list = Array.isArray(proof) ? proof : proof.hashes;
  if (!Array.isArray(proof) && (proof.from !== older.treeSize || proof.to !== newer.treeSize)) {
    throw new Error(`the proof is from ${String(proof.from)} to ${String(proof.to)}, the checkpoints are of ${older.treeSize} and ${newer.treeSize}`);
  }
  if (!verifyConsistency(older.treeSize, newer.treeSize, older.rootHash, newer.rootHash, hashes(list, 'proof.hashes'))) {
    out(`INCONSISTENT: the tree of ${newer.treeSize} leaves does not extend the tree of ${older.treeSize} leaves`);
    return 1;
  }
  out(`CONSISTENT: the tree of ${newer.treeSize} leaves extends the tree of ${older.treeSize} leaves`);
  return 0;
}

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url, { headers: { accept: 'text/plain' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

/**
 * `dpp log watch <url>`: polls the log's checkpoint, checks its signature with the pinned key and that it
 * extends the last one this watcher accepted (a consistency proof from the log, verified here), and keeps
 * every accepted checkpoint under `--state`. Exits 1 with a message on an inconsistent tree or a bad
 * signature; `--once` checks one checkpoint and exits 0 when it is good.
 */
async function watchCommand(base: string | undefined, o: LogOptions): Promise<number> {
  if (!base || !/^https?:\/\//.test(base)) throw new Error('watch: the server URL, e.g. https://dpp.example.com');
  const url = base.replace(/\/+$/, '');
  const state = o.state ?? '.dpp-log-watch';
  mkdirSync(state, { recursive: true });
  const keyFile = join(state, 'log-key');
  let keyText: string;
  if (o.key) {
    keyText = existsSync(o.key) ? readFileSync(o.key, 'utf8').trim() : o.key.trim();
  } else if (existsSync(keyFile)) {
    keyText = readFileSync(keyFile, 'utf8').trim();
  } else {
    // Trust on first use, said out loud: compare it with the key the operator publishes elsewhere.
    keyText = (await fetchText(`${url}/.well-known/log-key`)).trim();
    out(`pinned the log key on first use: ${keyText}`);
  }
  const key = parseVerifierKey(keyText);
  writeFileSync(keyFile, `${keyText}\n`);
  const latestFile = join(state, 'checkpoint');
  const intervalMs = o.interval ? Number(o.interval) : 10_000;
  if (!Number.isFinite(intervalMs) || intervalMs < 10) throw new Error('--interval: milliseconds, at least 10');

  for (;;) {
    const note = await fetchText(`${url}/log/checkpoint`);
    let next: Checkpoint;
    try {
      next = openCheckpoint(note, key);
    } catch (e) {
      err(`ALERT: bad checkpoint signature from ${url}: ${(e as Error).message}`);
      return 1;
    }
    const prev = existsSync(latestFile) ? openCheckpoint(readFileSync(latestFile, 'utf8'), key) : null;
    if (prev) {
      const problem = await inconsistency(url, prev, next);
      if (problem) {
        err(`ALERT: INCONSISTENT log at ${url}: ${problem}`);
        writeFileSync(join(state, `evidence-${Date.now()}.txt`), `${readFileSync(latestFile, 'utf8')}\n---\n${note}`);
        return 1;
      }
    }
    if (!prev || next.treeSize !== prev.treeSize) {
      writeFileSync(latestFile, note);
      appendFileSync(join(state, 'checkpoints.log'), `${JSON.stringify({ at: new Date().toISOString(), treeSize: next.treeSize, rootHash: next.rootHash.toString('base64') })}\n`);
      out(`checkpoint ${next.treeSize} ${next.rootHash.toString('base64')}${prev ? ` extends ${prev.treeSize}` : ' (first seen)'}`);
    }
    if (o.once) return 0;
    await sleep(intervalMs);
  }
}

/** Why `next` cannot be a later state of the tree `prev` showed, or null when a verified proof says it is. */
async function inconsistency(url: string, prev: Checkpoint, next: Checkpoint): Promise<string | null> {
  if (next.treeSize < prev.treeSize) return `the tree shrank from ${prev.treeSize} to ${next.treeSize} leaves`;
  if (next.treeSize === prev.treeSize) return next.rootHash.equals(prev.rootHash) ? null : `two different roots for ${next.treeSize} leaves`;
  const res = await fetch(`${url}/log/proof/consistency?from=${prev.treeSize}&to=${next.treeSize}`);
  if (!res.ok) return `no consistency proof from ${prev.treeSize} to ${next.treeSize} (HTTP ${res.status})`;
  const body = (await res.json()) as { hashes?: unknown };
  let proof: Buffer[];
  try {
    proof = hashes(body.hashes, 'proof');
  } catch {
    return 'a malformed consistency proof';
  }
  return verifyConsistency(prev.treeSize, next.treeSize, prev.rootHash, next.rootHash, proof)
    ? null
    : `the tree of ${next.treeSize} leaves does not extend the tree of ${prev.treeSize} leaves it showed before`;
}

export async function logCommand(sub: string | undefined, arg: string | undefined, o: LogOptions): Promise<number> {
  try {
    switch (sub) {
      case 'verify-inclusion':
        return verifyInclusionCommand(arg, o);
      case 'verify-consistency':
        return verifyConsistencyCommand(arg, o);
      case 'watch':
        return await watchCommand(arg, o);
      default:
        err('dpp log: verify-inclusion | verify-consistency | watch (see dpp help)');
        return 2;
    }
  } catch (e) {
    err(`dpp log ${sub}: ${(e as Error).message}`);
    return 2;
  }
}

import { hash as digest } from 'node:crypto';
import { getPublicKey, sign, verify } from './ed25519.js';

/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and the tlog-checkpoint body they carry
 * (c2sp.org/tlog-checkpoint): text ending in a newline, a blank line, then `— <key name> base64(key ID ||
 * signature)` lines. A verifier key is written as Go's sumdb note package writes it:
 * `<name>+<key ID, 8 hex digits>+<base64(0x01 || 32-byte public key)>`.
 */

const ED25519_TYPE = 0x01;
const SIGNATURE_PREFIX = '\u2014 ';

export type NoteSigner = { name: string; keyId: number; publicKey: Uint8Array; sign(text: string): Uint8Array };
export type NoteVerifier = { name: string; keyId: number; publicKey: Uint8Array };

const validName = (name: string) => name.length > 0 && !/[\s+]/u.test(name);

/** key ID = SHA-256(key name || 0x0A || 0x01 || public key)[:4], big-endian (the signed-note recommendation). */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const h = digest('sha256', Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([ED25519_TYPE]), publicKey]), 'buffer');
  return h.readUInt32BE(0);
}

/** An Ed25519 note signer from a 32-byte seed. */
export function noteSigner(name: string, seed: Uint8Array): NoteSigner {
  if (!validName(name)) throw new Error('note key names are non-empty, without spaces or plus signs');
  const publicKey = getPublicKey(seed);
  return { name, keyId: noteKeyId(name, publicKey), publicKey, sign: (text) => sign(Buffer.from(text, 'utf8'), seed) };
}

/** `<name>+<hex key ID>+<base64(0x01 || public key)>`: what a verifier is configured with. */
export function verifierKey(v: NoteVerifier): string {
  return `${v.name}+${v.keyId.toString(16).padStart(8, '0')}+${Buffer.concat([Buffer.from([ED25519_TYPE]), v.publicKey]).toString('base64')}`;
}

/** Parses a verifier key; throws on anything else (another algorithm, a key ID that does not match the key). */
export function parseVerifierKey(text: string): NoteVerifier {
  // The key's base64 may itself hold a '+': the name and the key ID come first.
  const m = /^([^+]+)\+([^+]*)\+(.*)$/s.exec(text.trim());
  if (!m) throw new Error('a verifier key is <name>+<key ID>+<key>');
  const [, name, idHex, keyB64] = m as unknown as [string, string, string, string];
  if (!validName(name) || !/^[0-9a-f]{8}$/.test(idHex)) throw new Error('a verifier key is <name>+<key ID>+<key>');
  const key = Buffer.from(keyB64, 'base64');
  if (key.length !== 33 || key[0] !== ED25519_TYPE) throw new Error('only Ed25519 (type 0x01) verifier keys are supported');
  const publicKey = Uint8Array.from(key.subarray(1));
  const keyId = Number.parseInt(idHex, 16);
  if (noteKeyId(name, publicKey) !== keyId) throw new Error('the verifier key ID does not match its key');
  return { name, keyId, publicKey };
}

/** The note text signed by every signer: `text` must end in a newline. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith('\n')) throw new Error('note text ends in a newline');
  const lines = signers.map((s) => {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(s.keyId);
    return `${SIGNATURE_PREFIX}${s.name} ${Buffer.concat([id, s.sign(text)]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Opens a signed note: its text when a signature by `verifier` is on it and verifies. Signatures by other
 * keys are ignored (as the spec requires); a failing signature by this key rejects the note.
 * @throws Error naming what is wrong.
 */
export function openNote(note: string, verifier: NoteVerifier): string {
  if (note.length > 1_000_000) throw new Error('note too large');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new Error('a note contains no control characters but newlines');
  if (!note.endsWith('\n')) throw new Error('a signed note ends in a newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('no signature block (a blank line, then signature lines)');
  const text = note.slice(0, split + 1);
  const signatures = note.slice(split + 2, -1).split('\n');
  let verified = false;
  for (const line of signatures) {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw new Error('malformed signature line');
    const [name, b64, ...rest] = line.slice(SIGNATURE_PREFIX.length).split(' ');
    if (!name || !b64 || rest.length) throw new Error('malformed signature line');
    const sig = Buffer.from(b64, 'base64');
    if (sig.length < 4) throw new Error('malformed signature line');
    if (name !== verifier.name || sig.readUInt32BE(0) !== verifier.keyId) continue;
    if (!verify(Uint8Array.from(sig.subarray(4)), Buffer.from(text, 'utf8'), verifier.publicKey)) throw new Error(`the signature by ${name} does not verify`);
    verified = true;
  }
  if (!verified) throw new Error(`not signed by ${verifier.name}`);
  return text;
}

/** A transparency log checkpoint (c2sp.org/tlog-checkpoint). */
export type Checkpoint = { origin: string; treeSize: number; rootHash: Buffer };

/** The checkpoint's note text: origin, tree size, base64 root hash, each line ending in a newline. */
export function checkpointText(c: Checkpoint): string {
  return `${c.origin}\n${c.treeSize}\n${c.rootHash.toString('base64')}\n`;
}

/** Parses checkpoint note text (extension lines are allowed and ignored). */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines.at(-1) !== '') throw new Error('a checkpoint has an origin, a tree size and a root hash line');
  const [origin, size, root] = lines as [string, string, string];
  if (!origin) throw new Error('empty checkpoint origin');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) throw new Error('checkpoint tree size: a decimal number without leading zeroes');
  const rootHash = Buffer.from(root, 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== root) throw new Error('checkpoint root hash: 32 bytes of standard base64');
  if (lines.slice(3, -1).some((l) => l === '')) throw new Error('checkpoint extension lines are non-empty');
  return { origin, treeSize: Number(size), rootHash };
}

/** Opens a signed checkpoint with `verifier` and parses it; the origin must be the key's name. */
export function openCheckpoint(note: string, verifier: NoteVerifier): Checkpoint {
  const checkpoint = parseCheckpoint(openNote(note, verifier));
  if (checkpoint.origin !== verifier.name) throw new Error(`checkpoint origin ${checkpoint.origin} is not the log's (${verifier.name})`);
  return checkpoint;
}

import type { EntityManager } from '@mikro-orm/postgresql';
import { consistencyProof, consistencyRanges, inclusionProof, inclusionRanges, leafHash, nodesFor, verifyInclusion } from '../../crypto/merkle.js';
import { openCheckpoint } from '../../crypto/signed-note.js';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, NotFoundError } from '../../errors/app-error.js';
import type { LogKey } from './log-key.js';
import { latestCheckpoint, leafIndexes, readNodes, type StoredCheckpoint } from './log-store.js';

export type InclusionProofResult = { leafIndex: number; treeSize: number; leafHash: string; hashes: string[] };

const b64 = (h: Buffer) => h.toString('base64');

/**
 * The newest signed checkpoint.
 * @throws NotFoundError before the first one was signed (a sequencer signs one on its first pass).
 */
async function checkpoint(em: EntityManager): Promise<StoredCheckpoint> {
  const c = await latestCheckpoint(em);
  if (!c) throw new NotFoundError('LogCheckpoint', 'latest');
  return c;
}

/** A tree size a proof may be asked for: 1 (0 where allowed) up to the newest checkpoint's. */
function checkSize(value: number, latest: number, field: string, min = 1): void {
  if (!Number.isSafeInteger(value) || value < min || value > latest) throw new BadInputError(`${field}: a tree size from ${min} to ${latest} (the newest checkpoint's)`, { field });
}

/**
 * Where a history event is in the log, with the hashes that lead from its leaf to the root of the tree of
 * `treeSize` leaves (default: the newest checkpoint's). Null when the event is not in that tree yet.
 * Whether the caller may know of the event is the caller's check (see the resolver and the route).
 */
async function inclusionProofFor(em: EntityManager, eventId: string, treeSize?: number | null): Promise<InclusionProofResult | null> {
  if (!isUuid(eventId)) throw new NotFoundError('LifecycleEvent', eventId);
  const latest = await checkpoint(em);
  const size = treeSize ?? latest.treeSize;
  checkSize(size, latest.treeSize, 'treeSize');
  const [row] = await rawQuery<{ hash: string; leaf_index: string | null }>(
    em,
    'select e.hash, l.leaf_index from lifecycle_event e left join log_leaf l on l.event_id = e.id where e.id = $1',
    [eventId],
  );
  if (!row) throw new NotFoundError('LifecycleEvent', eventId);
  if (row.leaf_index === null || Number(row.leaf_index) >= size) return null;
  const index = Number(row.leaf_index);
  const source = await readNodes(em, nodesFor(inclusionRanges(index, size)));
  return { leafIndex: index, treeSize: size, leafHash: b64(leafHash(Buffer.from(row.hash, 'hex'))), hashes: inclusionProof(index, size, source).map(b64) };
}

/** The consistency proof between two tree sizes (RFC 9162 §2.1.4), base64; both at most the newest checkpoint's. */
async function consistencyProofFor(em: EntityManager, from: number, to: number): Promise<string[]> {
  const latest = await checkpoint(em);
  checkSize(to, latest.treeSize, 'to', 0);
  checkSize(from, to, 'from', 0);
  const source = await readNodes(em, nodesFor(consistencyRanges(from, to)));
  return consistencyProof(from, to, source).map(b64);
}

export type EventLogStatus = { eventId: string; seq: number; leafIndex: number | null; status: 'INCLUDED' | 'PENDING' | 'NOT_INCLUDED' };
export type HistoryLogCheck = { treeSize: number; events: EventLogStatus[]; firstMismatchSeq?: number };

/**
 * Whether each event of a passport's history is in the log under the newest checkpoint: the checkpoint's
 * signature is checked with the log key, each event's inclusion proof is built from the stored tiles and
 * verified against the checkpoint's root with the leaf recomputed from the event's stored hash. INCLUDED:
 * it verifies; PENDING: not in that tree yet (recorded after it); NOT_INCLUDED: it should be, and is not as
 * stored (the event, the tiles or the checkpoint were changed).
 */
async function checkHistory(em: EntityManager, key: LogKey, passportId: string): Promise<HistoryLogCheck> {
  const latest = await checkpoint(em);
  let root: Buffer | null = null;
  try {
    const opened = openCheckpoint(latest.note, key);
    if (opened.treeSize === latest.treeSize && opened.rootHash.equals(latest.rootHash)) root = opened.rootHash;
  } catch {
    root = null;
  }
  const events = await rawQuery<{ id: string; seq: number; hash: string }>(em, 'select id, seq, hash from lifecycle_event where passport_id = $1 order by seq', [passportId]);
  const indexes = await leafIndexes(
    em,
    events.map((e) => e.id),
  );
  const size = latest.treeSize;
  const inTree = events.filter((e) => (indexes.get(e.id) ?? Infinity) < size);
  const source = await readNodes(em, nodesFor(inTree.flatMap((e) => inclusionRanges(indexes.get(e.id)!, size)))).catch(() => null);
  const result: EventLogStatus[] = events.map((e) => {
    const index = indexes.get(e.id);
    if (index === undefined || index >= size) return { eventId: e.id, seq: e.seq, leafIndex: index ?? null, status: 'PENDING' };
    let ok = false;
    try {
      ok = root !== null && source !== null && verifyInclusion(index, size, leafHash(Buffer.from(e.hash, 'hex')), inclusionProof(index, size, source), root);
    } catch {
      ok = false;
    }
    return { eventId: e.id, seq: e.seq, leafIndex: index, status: ok ? 'INCLUDED' : 'NOT_INCLUDED' };
  });
  const mismatch = result.find((e) => e.status === 'NOT_INCLUDED');
  return { treeSize: size, events: result, ...(mismatch ? { firstMismatchSeq: mismatch.seq } : {}) };
}

/** Checkpoints and proofs of the transparency log. Knows nothing of GraphQL or HTTP. */
export const logService = { checkpoint, inclusionProofFor, consistencyProofFor, checkHistory };

import type { EntityManager } from '@mikro-orm/postgresql';
import { type Hash, HASH_SIZE, nodeHash, type NodeId, type NodeSource } from '../../crypto/merkle.js';
import { rawQuery } from '../../db/raw.js';

/** Tile height of the C2SP tlog-tiles layout: a tile holds 2^8 = 256 hashes of one tree level. */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 1 << TILE_HEIGHT;

/** Where a complete subtree's hash comes from: 2^r consecutive entries of one tile, hashed up r levels. */
function tileSpan(node: NodeId): { level: number; idx: number; first: number; count: number } {
  const level = Math.floor(node.level / TILE_HEIGHT);
  const r = node.level % TILE_HEIGHT;
  const entry = node.index * 2 ** r;
  return { level, idx: Math.floor(entry / TILE_WIDTH), first: entry % TILE_WIDTH, count: 2 ** r };
}

/** The root of a perfect subtree over `hashes` (a power of two of them). */
function perfectRoot(hashes: Hash[]): Hash {
  let level = hashes;
  while (level.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

/**
 * Reads every tile the given complete subtrees need in one statement and answers a {@link NodeSource} over
 * them: a proof costs one read of at most a few tiles per 8 tree levels, however large the tree.
 * @throws Error when a tile is missing or too short (the log's tables are damaged).
 */
export async function readNodes(em: EntityManager, nodes: readonly NodeId[]): Promise<NodeSource> {
  const spans = nodes.map(tileSpan);
  const keys = [...new Map(spans.map((s) => [`${s.level}/${s.idx}`, s])).values()];
  const rows = keys.length
    ? await rawQuery<{ level: number; idx: string; hashes: Buffer }>(
        em,
        `select t.level, t.idx, t.hashes from log_tile t join unnest($1::smallint[], $2::bigint[]) as k(level, idx) on t.level = k.level and t.idx = k.idx`,
        [keys.map((k) => k.level), keys.map((k) => k.idx)],
      )
    : [];
  const tiles = new Map(rows.map((r) => [`${r.level}/${Number(r.idx)}`, r.hashes]));
  return (node) => {
    const s = tileSpan(node);
    const tile = tiles.get(`${s.level}/${s.idx}`);
    if (!tile || tile.length < (s.first + s.count) * HASH_SIZE) throw new Error(`log tile ${s.level}/${s.idx} is missing hashes the tree needs`);
    const entries: Hash[] = [];
    for (let i = s.first; i < s.first + s.count; i++) entries.push(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    return perfectRoot(entries);
  };
}

export type StoredCheckpoint = { treeSize: number; rootHash: Buffer; note: string; createdAt: Date };

/** The newest signed checkpoint, or null before the sequencer signed the first one. */
export async function latestCheckpoint(em: EntityManager): Promise<StoredCheckpoint | null> {
  const [row] = await rawQuery<{ tree_size: string; root_hash: Buffer; note: string; created_at: Date | string }>(
    em,
    'select tree_size, root_hash, note, created_at from log_checkpoint order by tree_size desc limit 1',
    [],
  );
  return row ? { treeSize: Number(row.tree_size), rootHash: row.root_hash, note: row.note, createdAt: new Date(row.created_at) } : null;
}

/** Leaf indexes of the given events (absent: not integrated yet). */
export async function leafIndexes(em: EntityManager, eventIds: readonly string[]): Promise<Map<string, number>> {
  if (eventIds.length === 0) return new Map();
  const rows = await rawQuery<{ event_id: string; leaf_index: string }>(em, 'select event_id, leaf_index from log_leaf where event_id = any($1::uuid[])', [eventIds]);
  return new Map(rows.map((r) => [r.event_id, Number(r.leaf_index)]));
}

import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { Frontier, type Hash, leafHash } from '../../crypto/merkle.js';
import { checkpointText, signNote } from '../../crypto/signed-note.js';
import { rawQuery, rawWrite } from '../../db/raw.js';
import type { LogKey } from './log-key.js';
import { TILE_HEIGHT, TILE_WIDTH } from './log-store.js';

export type SequencerOptions = {
  /** How often to look for work (0: never on its own; {@link LogSequencer.runOnce} still works). */
  intervalMs: number;
  /** Least time between two checkpoints while leaves arrive. */
  checkpointMs: number;
  /** Most leaves integrated in one transaction. */
  batch: number;
};

export type SequencerRun = { integrated: number; treeSize: number; checkpoint?: number };

export type LogSequencer = {
  /** One pass: integrate up to a batch of committed events, then sign a checkpoint if one is due. */
  runOnce(): Promise<SequencerRun | null>;
  stop(): Promise<void>;
};

type PendingRow = { id: string; event_ids: string; event_hashes: string };
type TileAppend = { level: number; idx: number; from: number; hashes: Hash[] };

/**
 * Appends the leaves of committed history events to the tree, in the order their statements were queued
 * (`log_pending` ids; each row carries the hashes its statement wrote, so no event is read back), and keeps the tiles, the right edge and the leaf index of each event in step, all in
 * one transaction holding the `log_state` row lock. That lock is what makes the sequencer run in one place
 * at a time: every replica runs one, and a replica that finds the row locked skips its turn (SKIP LOCKED),
 * so two servers on one PostgreSQL extend one tree.
 */
async function integrate(tx: EntityManager, key: LogKey, opts: SequencerOptions): Promise<SequencerRun | null> {
  const [state] = await rawQuery<{ tree_size: string; frontier: Buffer }>(tx, 'select tree_size, frontier from log_state where id = 1 for update skip locked', []);
  if (!state) return null;
  const frontier = Frontier.decode(Number(state.tree_size), state.frontier);
  const start = frontier.size;

  const queued = await rawQuery<PendingRow>(tx, 'select id, event_ids, event_hashes from log_pending order by id limit 1000', []);
  const taken: PendingRow[] = [];
  const ids: string[] = [];
  const hashes: string[] = [];
  for (const row of queued) {
    const rowIds = row.event_ids.split('\u001f');
    const rowHashes = row.event_hashes.split('\u001f');
    if (rowIds.length !== rowHashes.length) throw new Error(`log_pending row ${row.id} names ${rowIds.length} events and ${rowHashes.length} hashes`);
    if (taken.length > 0 && ids.length + rowIds.length > opts.batch) break;
    taken.push(row);
    for (let i = 0; i < rowIds.length; i++) {
      ids.push(rowIds[i]!);
      hashes.push(rowHashes[i]!);
    }
  }

  if (ids.length > 0) {
    const packed = ids.join('\u001f');
    const tiles = new Map<string, TileAppend>();
    const onNode = (node: { level: number; index: number }, hash: Hash) => {
      if (node.level % TILE_HEIGHT !== 0) return;
      const level = node.level / TILE_HEIGHT;
      const idx = Math.floor(node.index / TILE_WIDTH);
      const k = `${level}/${idx}`;
      let t = tiles.get(k);
      if (!t) tiles.set(k, (t = { level, idx, from: node.index % TILE_WIDTH, hashes: [] }));
      t.hashes.push(hash);
    };
    for (const hash of hashes) {
      if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error('a queued history event has a malformed hash');
      frontier.append(leafHash(Buffer.from(hash, 'hex')), onNode);
    }
    // Partial tiles at the right edge grow in place (guarded by their expected length); new tiles are inserted.
    const fresh = [...tiles.values()].filter((t) => t.from === 0);
    for (const t of tiles.values()) {
      if (t.from === 0) continue;
      const n = await rawWrite(tx, 'update log_tile set hashes = hashes || $3 where level = $1 and idx = $2 and octet_length(hashes) = $4', [
        t.level,
        t.idx,
        Buffer.concat(t.hashes),
        t.from * 32,
      ]);
      if (n !== 1) throw new Error(`log tile ${t.level}/${t.idx} does not match the log state`);
    }
    if (fresh.length) {
      await rawWrite(tx, `insert into log_tile (level, idx, hashes) select u.level, u.idx, decode(u.hex, 'hex') from unnest($1::smallint[], $2::bigint[], $3::text[]) as u(level, idx, hex)`, [
        fresh.map((t) => t.level),
        fresh.map((t) => t.idx),
        fresh.map((t) => Buffer.concat(t.hashes).toString('hex')),
      ]);
    }
    await rawWrite(tx, `insert into log_leaf (event_id, leaf_index) select u.id, $2::bigint + u.n - 1 from unnest(string_to_array($1, chr(31))::uuid[]) with ordinality as u(id, n)`, [packed, start]);
    await rawWrite(tx, 'update log_state set tree_size = $1, frontier = $2, updated_at = now() where id = 1', [frontier.size, frontier.encode()]);
    await rawWrite(tx, 'delete from log_pending where id = any($1::bigint[])', [taken.map((r) => r.id)]);
  }

  // A checkpoint when none exists yet, or when the tree grew and the last one is old enough (database time).
  const [last] = await rawQuery<{ tree_size: string; age_ms: number }>(
    tx,
    'select tree_size, extract(epoch from (now() - created_at)) * 1000 as age_ms from log_checkpoint order by tree_size desc limit 1',
    [],
  );
  let checkpoint: number | undefined;
  if (!last || (frontier.size > Number(last.tree_size) && Number(last.age_ms) >= opts.checkpointMs)) {
    const rootHash = frontier.root();
    const note = signNote(checkpointText({ origin: key.origin, treeSize: frontier.size, rootHash }), [key]);
    await rawWrite(tx, 'insert into log_checkpoint (tree_size, root_hash, note, created_at) values ($1, $2, $3, now())', [frontier.size, rootHash, note]);
    checkpoint = frontier.size;
  }
  return { integrated: ids.length, treeSize: frontier.size, ...(checkpoint !== undefined ? { checkpoint } : {}) };
}

/** Whether there is anything to do, read without a lock (so idle replicas cost one cheap query a tick). */
async function due(em: EntityManager, checkpointMs: number): Promise<boolean> {
  const [row] = await rawQuery<{ due: boolean }>(
    em,
    `select exists (select 1 from log_pending)
         or not exists (select 1 from log_checkpoint)
         or exists (select 1 from log_state s, (select tree_size, created_at from log_checkpoint order by tree_size desc limit 1) c
                    where s.id = 1 and s.tree_size > c.tree_size and c.created_at <= now() - make_interval(secs => $1::float8 / 1000)) as due`,
    [checkpointMs],
  );
  return Boolean(row?.due);
}

/** Starts this replica's sequencer (see {@link integrate}); a batch that filled up runs the next one at once. */
export function startLogSequencer(orm: MikroORM, key: LogKey, opts: SequencerOptions, log: Logger): LogSequencer {
  let running: Promise<SequencerRun | null> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const runOnce = (): Promise<SequencerRun | null> => {
    running ??= (async () => {
      try {
        const em = orm.em.fork() as EntityManager;
        if (!(await due(em, opts.checkpointMs))) return null;
        return await em.transactional((tx) => integrate(tx as EntityManager, key, opts));
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const tick = async () => {
    timer = undefined;
    let again = false;
    try {
      const run = await runOnce();
      again = run !== null && run.integrated >= opts.batch;
      if (run?.checkpoint !== undefined) log.debug({ treeSize: run.checkpoint }, 'transparency log checkpoint signed');
    } catch (err) {
      if (!stopped) log.error({ err }, 'transparency log sequencer failed; retrying');
    }
    if (!stopped) timer = setTimeout(tick, again ? 0 : opts.intervalMs);
  };
  if (opts.intervalMs > 0) timer = setTimeout(tick, 0);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

import type { EntityManager } from '@mikro-orm/postgresql';
import type { JsonObject } from '../../crypto/data-integrity.js';
import { newId } from '../../crypto/random.js';
import { rawQuery } from '../../db/raw.js';
import { drawFreePositions, getBit, setBit, STATUS_LIST_SIZE } from './bitstring.js';

export const STATUS_PURPOSE = 'revocation';

/** Where a unit's status entry lives; `code` packs both for bulk inserts (see {@link packEntries}). */
export type StatusEntry = { listId: string; index: number };

type HostConfig = { resolverHost: string };

/** `https://<host>/status/<brandId>/<listId>`: the list credential's id and where it is fetched. */
export function statusListUrl(config: HostConfig, brandId: string, listId: string): string {
  return `${config.resolverHost}/status/${brandId}/${listId}`;
}

/** The `credentialStatus` a unit's credentials carry (W3C Bitstring Status List §2.1). */
export function statusEntry(config: HostConfig, brandId: string, entry: StatusEntry): JsonObject {
  const list = statusListUrl(config, brandId, entry.listId);
  return {
    id: `${list}#${entry.index}`,
    type: 'BitstringStatusListEntry',
    statusPurpose: STATUS_PURPOSE,
    statusListIndex: String(entry.index),
    statusListCredential: list,
  };
}

type ListRow = { id: string; size: number; allocated_count: number; allocated: Buffer };

/**
 * Status list entries for `count` new units of a brand, at positions drawn at random from the free ones of
 * its open lists (new lists are opened as they fill). Runs in its own short transaction, before the mint's,
 * so concurrent mints of a brand wait for each other only this long; a mint that then fails leaves its
 * positions unused, which costs nothing but space.
 */
export async function allocateEntries(em: EntityManager, brandId: string, count: number): Promise<StatusEntry[]> {
  return em.fork().transactional(async (tx) => {
    const open = await rawQuery<ListRow>(
      tx,
      `select id, size, allocated_count, allocated from status_list
        where brand_id = $1 and purpose = $2 and allocated_count < size order by created_at, id for update`,
      [brandId, STATUS_PURPOSE],
    );
    const entries: StatusEntry[] = [];
    const now = new Date().toISOString();
    for (const list of open) {
      if (entries.length === count) break;
      const allocated = new Uint8Array(list.allocated);
      const drawn = drawFreePositions(allocated, list.size, count - entries.length);
      await rawQuery(tx, 'update status_list set allocated = $2, allocated_count = allocated_count + $3, updated_at = $4 where id = $1', [
        list.id,
        Buffer.from(allocated),
        drawn.length,
        now,
      ]);
      for (const index of drawn) entries.push({ listId: list.id, index });
    }
    while (entries.length < count) {
      const id = newId();
      const allocated = new Uint8Array(STATUS_LIST_SIZE / 8);
      const drawn = drawFreePositions(allocated, STATUS_LIST_SIZE, count - entries.length);
      await rawQuery(
        tx,
        `insert into status_list (id, brand_id, purpose, size, allocated_count, allocated, bits, version, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)`,
        [id, brandId, STATUS_PURPOSE, STATUS_LIST_SIZE, drawn.length, Buffer.from(allocated), Buffer.alloc(STATUS_LIST_SIZE / 8), now],
      );
      for (const index of drawn) entries.push({ listId: id, index });
    }
    return entries;
  });
}

/**
 * Entries as one integer per unit (`ordinal * STATUS_LIST_SIZE + index`) plus the distinct list ids, so a
 * bulk insert carries one small number per unit: `($n::uuid[])[code / size + 1]` and `code % size` in SQL.
 */
export function packEntries(entries: readonly StatusEntry[]): { listIds: string[]; codes: number[] } {
  const listIds: string[] = [];
  const ordinal = new Map<string, number>();
  const codes = entries.map((e) => {
    let o = ordinal.get(e.listId);
    if (o === undefined) ordinal.set(e.listId, (o = listIds.push(e.listId) - 1));
    return o * STATUS_LIST_SIZE + e.index;
  });
  return { listIds, codes };
}

/**
 * Sets the revocation bits of units, in the caller's transaction (the revocation's own), and bumps each
 * changed list's version: the next fetch of the list shows them. Units without an entry are skipped.
 * `where` picks the units: by id, or every unit a key signed.
 */
export async function setRevokedBits(tx: EntityManager, where: { passportIds: readonly string[] } | { kid: string }): Promise<number> {
  const units = await rawQuery<{ status_list_id: string; status_index: number }>(
    tx,
    'passportIds' in where
      ? 'select status_list_id, status_index from passport where id = any($1::uuid[]) and status_list_id is not null'
      : 'select status_list_id, status_index from passport where kid = $1 and status_list_id is not null',
    ['passportIds' in where ? [...where.passportIds] : where.kid],
  );
  const byList = new Map<string, number[]>();
  for (const u of units) byList.set(u.status_list_id, [...(byList.get(u.status_list_id) ?? []), u.status_index]);
  let changed = 0;
  // One list at a time in id order, so two revocations lock shared lists in the same order.
  for (const listId of [...byList.keys()].sort()) {
    const [row] = await rawQuery<{ bits: Buffer }>(tx, 'select bits from status_list where id = $1 for update', [listId]);
    if (!row) continue;
    const bits = new Uint8Array(row.bits);
    const before = changed;
    for (const index of byList.get(listId)!) {
      if (!getBit(bits, index)) {
        setBit(bits, index);
        changed++;
      }
    }
    if (changed > before) {
      await rawQuery(tx, 'update status_list set bits = $2, version = version + 1, updated_at = $3 where id = $1', [listId, Buffer.from(bits), new Date().toISOString()]);
    }
  }
  return changed;
}

export type StoredList = { id: string; brandId: string; purpose: string; bits: Uint8Array; version: number; updatedAt: Date };

/** A brand's list as stored, or undefined. */
export async function findList(em: EntityManager, brandId: string, listId: string): Promise<StoredList | undefined> {
  const [row] = await rawQuery<{ id: string; brand_id: string; purpose: string; bits: Buffer; version: number; updated_at: Date | string }>(
    em,
    'select id, brand_id, purpose, bits, version, updated_at from status_list where id = $1 and brand_id = $2',
    [listId, brandId],
  );
  if (!row) return undefined;
  return { id: row.id, brandId: row.brand_id, purpose: row.purpose, bits: new Uint8Array(row.bits), version: row.version, updatedAt: new Date(row.updated_at) };
}

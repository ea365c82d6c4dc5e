import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/*
 * The transparency log's tables (issue 17). lifecycle_event stays append-only and untouched: the log
 * keeps its own state beside it. Everything here is written by the sequencer alone (one at a time, under
 * the log_state row lock), except log_pending, which the write paths fill: one row per insert statement
 * of history events (insertEvents), never one per event.
 */

/**
 * History events committed but not yet in the tree: the ids and hashes of one insert statement, packed
 * (U+001F-separated) exactly as the statement's own parameters, so queueing costs the writer no per-event work
 * and the sequencer no lookup.
 */
export const LogPending = defineEntity({
  name: 'LogPending',
  tableName: 'log_pending',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    eventIds: p.text(),
    eventHashes: p.text(),
  },
});
export type ILogPending = InferEntity<typeof LogPending>;

/** Where each history event sits in the tree. */
export const LogLeaf = defineEntity({
  name: 'LogLeaf',
  tableName: 'log_leaf',
  properties: {
    eventId: p.uuid().primary(),
    leafIndex: p.bigint('number').unique(),
  },
});
export type ILogLeaf = InferEntity<typeof LogLeaf>;

/**
 * The tree's hashes in the C2SP tlog-tiles layout (tile height 8): tile `idx` of `level` holds up to 256
 * consecutive hashes of the tree at height 8·level (level 0: leaf hashes), 32 bytes each. A partial tile
 * at the right edge grows in place; its first hashes never change.
 */
export const LogTile = defineEntity({
  name: 'LogTile',
  tableName: 'log_tile',
  properties: {
    level: p.smallint().primary(),
    idx: p.bigint('number').primary(),
    hashes: p.blob(),
  },
});
export type ILogTile = InferEntity<typeof LogTile>;

/** The one row (id 1) the sequencer locks: the tree size and its right edge (the complete subtrees' hashes). */
export const LogState = defineEntity({
  name: 'LogState',
  tableName: 'log_state',
  properties: {
    id: p.smallint().primary().autoincrement(false),
    treeSize: p.bigint('number'),
    frontier: p.blob(),
    updatedAt: p.datetime(),
  },
});
export type ILogState = InferEntity<typeof LogState>;

/** Every checkpoint the log signed (C2SP tlog-checkpoint as a signed note): the newest is what /log/checkpoint serves. */
export const LogCheckpoint = defineEntity({
  name: 'LogCheckpoint',
  tableName: 'log_checkpoint',
  properties: {
    treeSize: p.bigint('number').primary().autoincrement(false),
    rootHash: p.blob(),
    note: p.text(),
    createdAt: p.datetime(),
  },
});
export type ILogCheckpoint = InferEntity<typeof LogCheckpoint>;

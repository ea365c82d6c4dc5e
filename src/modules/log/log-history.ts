import type { EntityManager } from '@mikro-orm/postgresql';
import { NotFoundError } from '../../errors/app-error.js';
import { type HistoryVerification, verifyHistory } from '../history/history.service.js';
import type { LogKey } from './log-key.js';
import { type EventLogStatus, logService } from './log.service.js';

export type HistoryVerificationWithLog = HistoryVerification & { logTreeSize: number | null; log: EventLogStatus[] };

/**
 * verifyHistory plus the transparency log: the chain must verify, and every event the newest checkpoint
 * covers must be in the log as stored. A rewritten chain (payloads, hashes and head all made to agree)
 * passes the first check and fails the second. Events recorded after the checkpoint are PENDING, not a failure.
 */
export async function verifyHistoryWithLog(em: EntityManager, key: LogKey, passportId: string): Promise<HistoryVerificationWithLog> {
  const chain = await verifyHistory(em, passportId);
  // No checkpoint signed yet (a fresh deployment's first moments): nothing to check against.
  const check = await logService.checkHistory(em, key, passportId).catch((e: unknown) => {
    if (e instanceof NotFoundError) return null;
    throw e;
  });
  if (!check) return { ...chain, logTreeSize: null, log: [] };
  const withLog = { ...chain, logTreeSize: check.treeSize, log: check.events };
  if (check.firstMismatchSeq === undefined) return withLog;
  const seq = check.firstMismatchSeq;
  if (!chain.valid && (chain.firstBrokenSeq ?? Infinity) <= seq) return { ...withLog, valid: false };
  return { ...withLog, valid: false, firstBrokenSeq: seq, reason: `event ${seq} is not in the transparency log as stored (checkpoint of ${check.treeSize} leaves)` };
}

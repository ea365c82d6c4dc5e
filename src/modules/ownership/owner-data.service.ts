import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { rawQuery } from '../../db/raw.js';
import type { Viewer } from '../../context/viewer.js';
import { historyService } from '../history/history.service.js';
import { requireOwner } from './ownership.service.js';
import { parseAssertion, passkeyService } from './passkey.service.js';
import type { RequestContext } from '../../context/request-context.js';

/**
 * The data subject's rights for an owner (README "Privacy"): `export` answers everything held about the
 * signed-in owner as one JSON document; `erase` deletes the account's personal data without touching the
 * hash-chained history (which never named the owner).
 */
export const ownerDataService = {
  /** Everything held about the signed-in owner, as plain JSON (times as ISO strings). */
  async export(em: EntityManager, viewer: Viewer): Promise<Record<string, unknown>> {
    const { ownerId } = requireOwner(viewer);
    const q = (sql: string) => rawQuery<Record<string, unknown>>(em, sql, [ownerId]);
    const [account] = await q(`select id, display_name as "displayName", created_at as "createdAt" from owner where id = $1`);
    const passkeys = await q(
      `select id, name, credential_id as "credentialId", aaguid, transports, backup_eligible as "backupEligible", backed_up as "backedUp",
              counter::text as counter, created_at as "createdAt", last_used_at as "lastUsedAt"
       from passkey_credential where owner_id = $1 order by created_at, id`,
    );
    const sessions = await q(`select id, created_at as "createdAt", expires_at as "expiresAt", revoked_at as "revokedAt" from owner_session where owner_id = $1 order by created_at, id`);
    const ownerships = await q(
      `select o.id, o.passport_id as "passportId", p.gtin, p.serial, o.acquired_via::text as "acquiredVia", o.started_at as "startedAt", o.ended_at as "endedAt"
       from ownership o join passport p on p.id = o.passport_id where o.owner_id = $1 order by o.started_at, o.id`,
    );
    // Offers the owner made, and the offers that handed them a unit.
    const transfers = await q(
      `select t.id, t.passport_id as "passportId", t.status::text as status, case when mine.id is not null then 'OFFERED' else 'RECEIVED' end as role,
              t.created_at as "createdAt", t.expires_at as "expiresAt", t.closed_at as "closedAt"
       from transfer_offer t
       left join ownership mine on mine.id = t.ownership_id and mine.owner_id = $1
       left join ownership got on got.id = t.accepted_ownership_id and got.owner_id = $1
       where mine.id is not null or got.id is not null order by t.created_at, t.id`,
    );
    const warrantyClaims = await q(
      `select id, passport_id as "passportId", issue, status::text as status, risk_score as "riskScore", reasons, created_at as "createdAt",
              decided_at as "decidedAt", decision_note as "decisionNote", redacted_at as "redactedAt"
       from warranty_claim where claimant_id = $1 order by created_at, id`,
    );
    const pendingChallenges = await q(`select id, purpose::text as purpose, passport_id as "passportId", expires_at as "expiresAt" from webauthn_challenge where owner_id = $1 order by created_at, id`);
    // Organisations' audit entries are about units and keys; any that names this owner is theirs to see.
    const auditEntries = await q(`select id, action, passport_id as "passportId", details, created_at as "createdAt" from audit_log where details::text like '%' || $1::text || '%' order by created_at, id`);
    return {
      exportedAt: new Date().toISOString(),
      note: 'Everything this service holds about you. Scans are not linked to accounts; see the privacy notice.',
      account: account ?? null,
      passkeys,
      sessions,
      ownerships,
      transfers,
      warrantyClaims,
      pendingChallenges,
      auditEntries,
    };
  },

  /**
   * Erases the signed-in owner's account with a fresh DELETE_ACCOUNT assertion, in one transaction: passkeys,
   * sessions and challenges are deleted; current ownerships end (open transfer offers cancelled; each unit
   * takes an OWNERSHIP_TRANSFERRED `{"step":"RELINQUISHED"}` event naming no one); warranty claims keep their
   * facts (dates, status, score, signals) but lose their free text; the account row stays as an anonymous
   * tombstone (no name, a fresh random user handle), so past ownerships and claims keep their shape.
   */
  async erase(ctx: RequestContext, assertionJson: unknown): Promise<boolean> {
    const { em, services, viewer } = ctx;
    const owner = requireOwner(viewer);
    const assertion = parseAssertion(assertionJson);
    return em.transactional(async (t) => {
      const tx = t as EntityManager;
      await passkeyService.verifyAssertion(tx, services, owner, assertion, { purpose: 'DELETE_ACCOUNT', passportId: null });
      const now = new Date().toISOString();
      // Passkeys first: every act of the owner moves a passkey's counter in its transaction, so this waits for
      // acts in flight (and the ownerships they open are seen below), and acts after it find no passkey.
      await rawQuery(tx, `delete from passkey_credential where owner_id = $1`, [owner.ownerId]);
      // Units in id order, locked like every ownership change, so two erasures (or an erasure and a transfer) queue.
      const open = await rawQuery<{ id: string; passport_id: string; status: string }>(
        tx,
        `select o.id, o.passport_id, p.status::text as status from ownership o join passport p on p.id = o.passport_id
         where o.owner_id = $1 and o.ended_at is null order by o.passport_id for no key update of p`,
        [owner.ownerId],
      );
      for (const o of open) {
        await rawQuery(tx, `update transfer_offer set status = 'CANCELLED', closed_at = $2 where ownership_id = $1 and status = 'OPEN'`, [o.id, now]);
        await rawQuery(tx, `update ownership set ended_at = $2 where id = $1`, [o.id, now]);
        if (o.status === 'OWNED') {
          await historyService.appendEvent(tx, { passportId: o.passport_id, type: 'OWNERSHIP_TRANSFERRED', actorId: null, payload: { step: 'RELINQUISHED' } });
        }
      }
      await rawQuery(tx, `update warranty_claim set issue = '', redacted_at = $2 where claimant_id = $1 and redacted_at is null`, [owner.ownerId, now]);
      await rawQuery(tx, `delete from webauthn_challenge where owner_id = $1 or pending_owner_id = $1`, [owner.ownerId]);
      await rawQuery(tx, `delete from owner_session where owner_id = $1`, [owner.ownerId]);
      await rawQuery(tx, `update owner set display_name = '', webauthn_user_id = $2, erased_at = $3 where id = $1`, [owner.ownerId, randomBytes(32).toString('base64url'), now]);
      return true;
    });
  },
};

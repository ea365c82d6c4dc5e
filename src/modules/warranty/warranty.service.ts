import { sha256Hex } from '../../crypto/jcs.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../../crypto/random.js';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { raiseAlerts } from '../alerts/alert.service.js';
import { historyService } from '../history/history.service.js';
import { canMove } from '../history/state-machine.js';
import { NotTheOwnerError } from '../ownership/ownership.errors.js';
import { currentOwnership, lockUnit, requireOwner } from '../ownership/ownership.service.js';
import { parseAssertion, passkeyService } from '../ownership/passkey.service.js';
import { effectiveMarkets } from '../verification/rules.js';
import type { WarrantyClaimStatus } from './warranty-claim.entity.js';
import { assessWarrantyClaim, REPEATED_ISSUE_DAYS, type Signal } from './warranty.scoring.js';
import type { RequestContext } from '../../context/request-context.js';
import { enqueueWebhookEvents } from '../webhooks/webhook-enqueue.js';

export const MAX_ISSUE_LENGTH = 2000;
export const MAX_DECISION_NOTE = 1000;
export const WARRANTY_DECISIONS = ['APPROVED', 'REJECTED'] as const;
export type WarrantyDecision = (typeof WARRANTY_DECISIONS)[number];

export type WarrantyClaimInput = { passportId: string; issue: string };
export type WarrantyClaimFilter = { status?: WarrantyClaimStatus | null; passportId?: string | null; minRiskScore?: number | null };

/** A claim as the API shows it (the claimant's identity stays with the claimant and the brand). */
export type WarrantyClaimRecord = {
  id: string;
  passportId: string;
  brandId: string;
  claimantId: string;
  issue: string;
  status: WarrantyClaimStatus;
  riskScore: number;
  reasons: string[];
  signals: Signal[];
  eventSeq: number | null;
  createdAt: Date;
  decidedAt: Date | null;
  decisionNote: string | null;
};

type ClaimRow = {
  id: string;
  passport_id: string;
  brand_id: string;
  claimant_id: string;
  issue: string;
  status: WarrantyClaimStatus;
  risk_score: number;
  reasons: string[];
  signals: Signal[];
  event_seq: number | null;
  created_at: string | Date;
  decided_at: string | Date | null;
  decision_note: string | null;
};

export const toClaim = (r: ClaimRow): WarrantyClaimRecord => ({
  id: r.id,
  passportId: r.passport_id,
  brandId: r.brand_id,
  claimantId: r.claimant_id,
  issue: r.issue,
  status: r.status,
  riskScore: Number(r.risk_score),
  reasons: r.reasons,
  signals: r.signals,
  eventSeq: r.event_seq,
  createdAt: new Date(r.created_at),
  decidedAt: r.decided_at === null ? null : new Date(r.decided_at),
  decisionNote: r.decision_note,
});

/** What makes two issues "the same": case, accents' composition, punctuation and spacing ignored. */
export function issueKey(issue: string): string {
  const normalised = issue.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
  return sha256Hex(normalised);
}

function issueText(value: string): string {
  const v = value.normalize('NFC').trim();
  if (v.length < 1 || v.length > MAX_ISSUE_LENGTH || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v)) {
    throw new BadInputError(`input.issue: 1 to ${MAX_ISSUE_LENGTH} characters, no control characters`, { field: 'input.issue' });
  }
  return v;
}

function brandOf(viewer: Viewer): string {
  if (viewer.kind !== 'ORGANIZATION' || viewer.orgKind !== 'BRAND') throw new ForbiddenError('Only a BRAND organisation decides warranty claims');
  return viewer.organizationId;
}

/**
 * Warranty claims: filed by a unit's current owner with a fresh WARRANTY_CLAIM assertion, scored for
 * fraud from the unit's history (see warranty.scoring.ts), listed and decided by the unit's brand.
 * Knows nothing of GraphQL.
 */
/** A claim as the WarrantyClaim GraphQL type shows it to the unit's brand (signals included): a webhook's `data`. */
function claimWebhookData(c: WarrantyClaimRecord): Record<string, unknown> {
  const { id, passportId, status, riskScore, reasons, issue, signals, createdAt, decidedAt, decisionNote } = c;
  return { id, passportId, status, riskScore, reasons, issue, signals, createdAt: createdAt.toISOString(), decidedAt: decidedAt?.toISOString() ?? null, decisionNote };
}

export const warrantyService = {
  /**
   * Files a claim in one transaction: lock the unit, consume the assertion's challenge, check that the
   * caller owns the unit now (a former owner is refused), gather the facts, score, append a
   * WARRANTY_CLAIMED event (when the unit's status takes one; an end-of-life or revoked unit's claim is
   * kept and scored, without an event), and raise WARRANTY_FRAUD_RISK through the alert outbox when the
   * score is high (the commit kicks the outbox relay). A second OPEN claim for the same unit and issue
   * (issueKey) is CONFLICT naming the open one.
   */
  async file(ctx: RequestContext, input: WarrantyClaimInput, assertionJson: unknown): Promise<WarrantyClaimRecord> {
    const { em, services, viewer } = ctx;
    const owner = requireOwner(viewer);
    const issue = issueText(input.issue);
    const assertion = parseAssertion(assertionJson);
    if (!isUuid(input.passportId)) throw new NotFoundError('Passport', input.passportId);
    return em.transactional(async (t) => {
      const tx = t as EntityManager;
      const unit = await lockUnit(tx, input.passportId);
      await passkeyService.verifyAssertion(tx, services, owner, assertion, { purpose: 'WARRANTY_CLAIM', passportId: unit.id });
      const ownership = await currentOwnership(tx, unit.id);
      if (!ownership || ownership.ownerId !== owner.ownerId) throw new NotTheOwnerError();

      const at = new Date();
      const key = issueKey(issue);
      const [facts] = await rawQuery<{
        warranty_months: number | null;
        model_markets: string[];
        batch_markets: string[];
        sold_at: string | Date | null;
        key_revoked: boolean;
        alert_severities: string[];
        scan_countries: string[];
        earlier: number;
        same_issue: number;
        same_issue_elsewhere: number;
      }>(
        tx,
        `select m.warranty_months, m.authorised_markets as model_markets, b.destination_markets as batch_markets,
           (select min(e.occurred_at) from lifecycle_event e where e.passport_id = $1
              and (e.type = 'SOLD' or (e.type = 'CUSTODY' and e.payload->>'bizStep' ~* '(^|[:-])retail_selling$'))) as sold_at,
           exists (select 1 from signing_key k where k.kid = $4 and k.status = 'REVOKED') as key_revoked,
           array(select a.severity::text from fraud_alert a where a.passport_id = $1 and a.status = 'OPEN') as alert_severities,
           array(select distinct s.country from scan_event s where s.passport_id = $1 and s.country is not null) as scan_countries,
           (select count(*)::int from warranty_claim c where c.passport_id = $1) as earlier,
           (select count(*)::int from warranty_claim c where c.passport_id = $1 and c.issue_key = $5) as same_issue,
           (select count(*)::int from warranty_claim c where c.claimant_id = $6 and c.passport_id <> $1 and c.issue_key = $5 and c.created_at > $7) as same_issue_elsewhere
         from product_model m, mint_batch b where m.id = $2 and b.id = $3`,
        [unit.id, unit.model_id, unit.batch_id, unit.kid, key, owner.ownerId, new Date(at.getTime() - REPEATED_ISSUE_DAYS * 86_400_000).toISOString()],
      );
      const assessment = assessWarrantyClaim({
        at,
        ownershipSince: ownership.since,
        soldAt: facts!.sold_at === null ? null : new Date(facts!.sold_at),
        warrantyMonths: facts!.warranty_months,
        status: unit.status,
        signed: unit.signature !== null,
        keyRevoked: facts!.key_revoked,
        openAlertSeverities: facts!.alert_severities,
        scanCountries: facts!.scan_countries,
        authorisedMarkets: effectiveMarkets(facts!.model_markets, facts!.batch_markets),
        earlierClaimsOnUnit: facts!.earlier,
        sameIssueOnUnit: facts!.same_issue,
        sameIssueByClaimantElsewhere: facts!.same_issue_elsewhere,
      });

      const id = newId();
      let eventSeq: number | null = null;
      if (canMove(unit.status, 'WARRANTY_CLAIMED')) {
        // The claim's id only: the issue is free text a person wrote, so it stays out of the hash chain.
        const appended = await historyService.appendEvent(tx, { passportId: unit.id, type: 'WARRANTY_CLAIMED', actorId: null, payload: { claimId: id } });
        eventSeq = appended.event.seq;
      }
      const [row] = await rawQuery<ClaimRow>(
        tx,
        `insert into warranty_claim (id, passport_id, brand_id, claimant_id, ownership_id, issue, issue_key, status, risk_score, reasons, signals, event_seq, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, 'OPEN', $8, $9::text[], $10::jsonb, $11, $12)
         on conflict (passport_id, issue_key) where status = 'OPEN' do nothing returning *`,
        [id, unit.id, unit.brand_id, owner.ownerId, ownership.id, issue, key, assessment.score, assessment.reasons, JSON.stringify(assessment.signals), eventSeq, at.toISOString()],
      );
      // The partial unique index decides: one OPEN claim per unit and issue; throwing rolls back the event too.
      if (!row) {
        const [open] = await rawQuery<{ id: string }>(tx, `select id from warranty_claim where passport_id = $1 and issue_key = $2 and status = 'OPEN'`, [unit.id, key]);
        throw new ConflictError('This unit already has an open claim for this issue; it must be decided before another is filed', { reason: 'OPEN_CLAIM_EXISTS', claimId: open?.id ?? null });
      }
      const claim = toClaim(row);
      // warranty_claim.filed, in this transaction: queued exactly when the claim exists.
      await enqueueWebhookEvents(tx, [{ eventId: id, brandId: unit.brand_id, type: 'WARRANTY_CLAIM_FILED', occurredAt: at.toISOString(), data: claimWebhookData(claim) }]);
      if (assessment.highRisk) {
        await raiseAlerts(tx, { brandId: unit.brand_id, passportId: unit.id, gtin: unit.gtin, at }, [
          { kind: 'WARRANTY_FRAUD_RISK', severity: 'MEDIUM', evidence: { claimId: id, riskScore: assessment.score, reasons: assessment.reasons } },
        ]);
      }
      return claim;
    });
  },

  /** The calling brand's claims, oldest first (ids are time-ordered), with a cursor. */
  async list(em: EntityManager, viewer: Viewer, filter: WarrantyClaimFilter, first: number, after?: string | null): Promise<{ items: WarrantyClaimRecord[]; hasNextPage: boolean }> {
    const brandId = brandOf(viewer);
    if (!Number.isInteger(first) || first < 1 || first > 500) throw new BadInputError('first: 1 to 500', { field: 'first' });
    if (after && !isUuid(after)) throw new BadInputError('after: not a cursor from this list', { field: 'after' });
    if (filter.passportId && !isUuid(filter.passportId)) return { items: [], hasNextPage: false };
    const min = filter.minRiskScore ?? null;
    if (min !== null && !(min >= 0 && min <= 100)) throw new BadInputError('filter.minRiskScore: 0 to 100', { field: 'filter.minRiskScore' });
    const rows = await rawQuery<ClaimRow>(
      em,
      `select * from warranty_claim where brand_id = $1
         and ($2::warranty_claim_status is null or status = $2::warranty_claim_status)
         and ($3::uuid is null or passport_id = $3::uuid)
         and ($4::float8 is null or risk_score >= $4::float8)
         and ($5::uuid is null or id > $5::uuid)
       order by id limit $6`,
      [brandId, filter.status ?? null, filter.passportId ?? null, min, after ?? null, first + 1],
    );
    return { items: rows.slice(0, first).map(toClaim), hasNextPage: rows.length > first };
  },

  /** The brand approves or rejects an OPEN claim once (compare-and-swap on the status). */
  async decide(em: EntityManager, viewer: Viewer, id: string, decision: WarrantyDecision, note?: string | null): Promise<WarrantyClaimRecord> {
    const brandId = brandOf(viewer);
    if (!WARRANTY_DECISIONS.includes(decision)) throw new BadInputError(`decision: one of ${WARRANTY_DECISIONS.join(', ')}`, { field: 'decision' });
    const text = note == null || note.trim() === '' ? null : note.trim();
    if (text !== null && text.length > MAX_DECISION_NOTE) throw new BadInputError(`note: at most ${MAX_DECISION_NOTE} characters`, { field: 'note' });
    if (!isUuid(id)) throw new NotFoundError('WarrantyClaim', id);
    const [row] = await rawQuery<ClaimRow>(
      em,
      `update warranty_claim set status = $3::warranty_claim_status, decided_at = $4, decided_by_id = $2, decision_note = $5
       where id = $1 and brand_id = $2 and status = 'OPEN' returning *`,
      [id, brandId, decision, new Date().toISOString(), text],
    );
    if (row) return toClaim(row);
    const [existing] = await rawQuery<{ status: string }>(em, `select status from warranty_claim where id = $1 and brand_id = $2`, [id, brandId]);
    if (!existing) throw new NotFoundError('WarrantyClaim', id);
    throw new ConflictError(`This claim was already decided (${existing.status})`, { reason: 'ALREADY_DECIDED', status: existing.status });
  },

  /** The claims an owner filed, newest first. */
  async ofClaimant(em: EntityManager, ownerId: string): Promise<WarrantyClaimRecord[]> {
    const rows = await rawQuery<ClaimRow>(em, `select * from warranty_claim where claimant_id = $1 order by id desc`, [ownerId]);
    return rows.map(toClaim);
  },
};

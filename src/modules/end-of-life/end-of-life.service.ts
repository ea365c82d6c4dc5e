import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { isUuid } from '../../db/ids.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { type AppendedEvent, historyService } from '../history/history.service.js';
import { setRevokedBits } from '../status-lists/status-list.service.js';
import type { OrgKind } from '../organizations/organization.entity.js';
import { type IPassport, Passport } from '../passports/passport.entity.js';

export const REVOCATION_REASONS = ['STOLEN', 'RECALLED', 'COUNTERFEIT_SUSPECTED', 'OTHER'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export const MAX_TAMPER_DESCRIPTION = 2000;
export const MAX_END_OF_LIFE_REASON = 500;
export const MAX_FACILITY = 200;
export const MAX_REVOCATION_NOTE = 500;
export const MAX_RECOVERED_MATERIALS = 100;

export type TamperReportInput = { passportId: string; description: string; evidenceUrl?: string | null };
export type RecyclingInput = { passportId: string; facility?: string | null; recoveredMaterials?: unknown };

/** Material recovery data of a recycling event: what came out, how much, at what recovery rate. */
export const recoveredMaterialsSchema = z
  .array(
    z.strictObject({
      material: z.string().trim().min(1).max(200),
      massKg: z.number().min(0).max(1e9),
      /** Share of the material in the unit that was recovered, 0..100. */
      recoveryRate: z.number().min(0).max(100).optional(),
    }),
  )
  .max(MAX_RECOVERED_MATERIALS);
export type RecoveredMaterial = z.infer<typeof recoveredMaterialsSchema>[number];

/** Only https links: reports are shown to brands and must not point at mixed content or scripts. */
const evidenceUrlSchema = z.url({ protocol: /^https$/, hostname: z.regexes.domain, error: 'must be an https URL' }).max(2048);

function requireKind(viewer: Viewer, kind: OrgKind): string {
  if (viewer.kind !== 'ORGANIZATION' || viewer.orgKind !== kind) throw new ForbiddenError(`Only a ${kind} organisation may do this`);
  return viewer.organizationId;
}

function text(value: string | null | undefined, field: string, max: number): string {
  const v = (value ?? '').trim();
  if (v.length < 1 || v.length > max) throw new BadInputError(`${field}: 1 to ${max} characters`, { field });
  return v;
}

function passportIdOf(id: string): string {
  if (!isUuid(id)) throw new NotFoundError('Passport', id);
  return id.toLowerCase();
}

/** `recoveredMaterials[0].massKg` from a zod issue path. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}.${String(key)}`), 'recoveredMaterials');
}

/** Validates recycling output data; BAD_USER_INPUT names every problem with its path. */
export function parseRecoveredMaterials(value: unknown): RecoveredMaterial[] {
  const result = recoveredMaterialsSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  throw new BadInputError(`Invalid recoveredMaterials: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { field: 'recoveredMaterials', issues });
}

/** The passport as it stands after an append (never a stale copy from this entity manager). */
async function reload(em: EntityManager, id: string): Promise<IPassport> {
  return em.findOneOrFail(Passport, { id }, { refresh: true });
}

/**
 * The end of a unit's life: tamper reports, end of life and recycling by recyclers, and revocation by
 * its brand (stolen, recalled). Every move goes through the history state machine, race-safely.
 * Knows nothing of GraphQL.
 */
export const endOfLifeService = {
  /**
   * Appends a TAMPER_REPORTED event. Anyone may report (consumers have no account), so the actor is the
   * caller's organisation or null; the payload says what kind of reporter it was, never who.
   * @throws NotFoundError for an unknown unit; ConflictError on a RECYCLED or REVOKED unit.
   */
  async reportTamper(em: EntityManager, viewer: Viewer, input: TamperReportInput): Promise<AppendedEvent> {
    const passportId = passportIdOf(input.passportId);
    const description = text(input.description, 'description', MAX_TAMPER_DESCRIPTION);
    let evidenceUrl: string | undefined;
    if (input.evidenceUrl != null && input.evidenceUrl.trim() !== '') {
      const parsed = evidenceUrlSchema.safeParse(input.evidenceUrl.trim());
      if (!parsed.success) throw new BadInputError('evidenceUrl: must be an https URL of at most 2048 characters', { field: 'evidenceUrl' });
      evidenceUrl = parsed.data;
    }
    const org = viewer.kind === 'ORGANIZATION' ? viewer : null;
    const { event } = await historyService.appendEvent(em, {
      passportId,
      type: 'TAMPER_REPORTED',
      actorId: org?.organizationId ?? null,
      payload: { description, ...(evidenceUrl ? { evidenceUrl } : {}), reporter: org?.orgKind ?? 'ANONYMOUS' },
    });
    return event;
  },

  /**
   * A RECYCLER takes a unit out of use: END_OF_LIFE.
   * @throws ConflictError when the unit's status does not allow it (e.g. already at end of life).
   */
  async declareEndOfLife(em: EntityManager, viewer: Viewer, passportId: string, reason: string): Promise<IPassport> {
    const recyclerId = requireKind(viewer, 'RECYCLER');
    const id = passportIdOf(passportId);
    const why = text(reason, 'reason', MAX_END_OF_LIFE_REASON);
    await historyService.appendEvent(em, { passportId: id, type: 'END_OF_LIFE', actorId: recyclerId, payload: { reason: why } });
    return reload(em, id);
  },

  /**
   * A RECYCLER records the recycling of an END_OF_LIFE unit with its material recovery data: RECYCLED, terminal.
   * @throws ConflictError from any other status (and for the loser of two concurrent calls).
   */
  async recordRecycling(em: EntityManager, viewer: Viewer, input: RecyclingInput): Promise<IPassport> {
    const recyclerId = requireKind(viewer, 'RECYCLER');
    const id = passportIdOf(input.passportId);
    const facility = input.facility == null || input.facility.trim() === '' ? undefined : text(input.facility, 'facility', MAX_FACILITY);
    const recoveredMaterials = input.recoveredMaterials == null ? undefined : parseRecoveredMaterials(input.recoveredMaterials);
    await historyService.appendEvent(em, {
      passportId: id,
      type: 'RECYCLED',
      actorId: recyclerId,
      payload: { ...(facility ? { facility } : {}), ...(recoveredMaterials ? { recoveredMaterials } : {}) },
    });
    return reload(em, id);
  },

  /**
   * The brand revokes one of its own units (stolen, recalled, suspected counterfeit): REVOKED, terminal.
   * Ownership is checked on the locked row; another brand's unit is NOT_FOUND, like one that does not exist.
   */
  async revoke(em: EntityManager, viewer: Viewer, passportId: string, reason: RevocationReason, note?: string | null): Promise<IPassport> {
    const brandId = requireKind(viewer, 'BRAND');
    const id = passportIdOf(passportId);
    if (!REVOCATION_REASONS.includes(reason)) throw new BadInputError(`reason: one of ${REVOCATION_REASONS.join(', ')}`, { field: 'reason' });
    const why = note == null || note.trim() === '' ? undefined : text(note, 'note', MAX_REVOCATION_NOTE);
    if (reason === 'OTHER' && !why) throw new BadInputError('note: required when the reason is OTHER', { field: 'note' });
    // The status list bit is set in the revocation's transaction: the next fetch of the list shows it.
    await em.transactional(async (tx) => {
      await historyService.appendEventsForMany(tx, [id], (locked) => {
        if (locked.brandId !== brandId) throw new NotFoundError('Passport', passportId);
        return { type: 'REVOKED', actorId: brandId, payload: { reason, ...(why ? { note: why } : {}) } };
      });
      await setRevokedBits(tx, { passportIds: [id] });
    });
    return reload(em, id);
  },
};

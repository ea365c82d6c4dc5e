import type { MiddlewareFn } from 'type-graphql';
import { ForbiddenError } from '../../errors/app-error.js';
import type { Context } from '../../context/request-context.js';
import type { Viewer } from '../../context/viewer.js';
import { OPERATOR_KINDS } from '../organizations/organization.entity.js';
import { ownershipLoaders } from '../ownership/ownership.loaders.js';

/**
 * Who sees how much of a passport (EU DPP tiers), lowest first:
 * - PUBLIC: anyone: identity, model with public DPP data, authenticity (signature), status;
 * - LEGITIMATE_INTEREST: recyclers and service partners: + manufacture facts, full DPP data, service history;
 * - AUTHORITY: regulators, customs and the platform: + the full custody chain, EPCIS export, batch and markets;
 *   every such read is written to the audit log;
 * - BRAND: the unit's economic operator (the brand that minted it, or the service partner that made it by repurposing
 *   or remanufacturing a battery): everything (owner identity stays with the owner, issue 6).
 *
 * Beside the ladder, the unit's current owner (an owner session) sees what LEGITIMATE_INTEREST sees plus the
 * fields a guard opens to owners (`RequireTier(min, { owner: true })`: the history). A former owner sees the
 * public tier again: the check reads the open ownership on every request.
 */
export const TIERS = ['PUBLIC', 'LEGITIMATE_INTEREST', 'AUTHORITY', 'BRAND'] as const;
export type Tier = (typeof TIERS)[number];

const KIND_TIER: Record<string, Tier> = {
  PLATFORM: 'AUTHORITY',
  REGULATOR: 'AUTHORITY',
  CUSTOMS: 'AUTHORITY',
  RECYCLER: 'LEGITIMATE_INTEREST',
  SERVICE_PARTNER: 'LEGITIMATE_INTEREST',
  RETAILER: 'PUBLIC',
  DISTRIBUTOR: 'PUBLIC',
  BRAND: 'PUBLIC',
};

/**
 * The one tier function: what `viewer` may see of a unit whose economic operator is `brandId` (the brand that
 * minted it, or the service partner whose repurposed or remanufactured battery it is: both read it at BRAND).
 */
export function passportTier(viewer: Viewer, brandId: string): Tier {
  if (viewer.kind !== 'ORGANIZATION') return 'PUBLIC';
  if (viewer.organizationId === brandId && OPERATOR_KINDS.has(viewer.orgKind)) return 'BRAND';
  return KIND_TIER[viewer.orgKind] ?? 'PUBLIC';
}

export function tierAtLeast(tier: Tier, min: Tier): boolean {
  return TIERS.indexOf(tier) >= TIERS.indexOf(min);
}

/** Authority reads of anything above the public tier are audited. */
export function isAuditedRead(viewer: Viewer, tier: Tier, min: Tier): boolean {
  return tier === 'AUTHORITY' && min !== 'PUBLIC' && viewer.kind === 'ORGANIZATION';
}

/** Whether the caller is the current owner of the unit (an owner session whose account holds the open ownership). */
export async function isCurrentOwner(context: Context, passportId: string): Promise<boolean> {
  if (context.viewer.kind !== 'OWNER') return false;
  const ownership = await ownershipLoaders(context).currentOwnershipByPassport.load(passportId);
  return ownership?.ownerId === context.viewer.ownerId;
}

type PassportRoot = { id: string; brandId: string };

/**
 * Whether the caller may read a unit's fields at tier `min`: by its tier, or as the unit's current owner up
 * to LEGITIMATE_INTEREST (and above it where `opts.owner` says so). Audits an authority's read above PUBLIC.
 */
export async function mayReadAt(context: Context, root: PassportRoot, min: Tier, what: string, opts: { owner?: boolean } = {}): Promise<boolean> {
  const tier = passportTier(context.viewer, root.brandId);
  if (!tierAtLeast(tier, min)) {
    const ownerMayRead = opts.owner === true || tierAtLeast('LEGITIMATE_INTEREST', min);
    return ownerMayRead && (await isCurrentOwner(context, root.id));
  }
  if (isAuditedRead(context.viewer, tier, min)) await context.audit.recordRead(root.id, what);
  return true;
}

/**
 * Field guard for anything resolved on a passport (`root.brandId` names its brand): below `min`, the field
 * answers FORBIDDEN (nullable fields then read null; the rest of the passport still resolves). The unit's
 * current owner passes up to LEGITIMATE_INTEREST, and above it where `opts.owner` says so.
 */
export function RequireTier(min: Tier, opts: { owner?: boolean } = {}): MiddlewareFn<Context> {
  return async ({ root, context, info }, next) => {
    const brandId = (root as { brandId?: string }).brandId;
    if (!brandId) throw new ForbiddenError();
    const what = `${info.parentType.name}.${info.fieldName}`;
    if (!(await mayReadAt(context, root as PassportRoot, min, what, opts))) {
      throw new ForbiddenError(`${what} is not visible at the ${passportTier(context.viewer, brandId)} tier`);
    }
    return next();
  };
}

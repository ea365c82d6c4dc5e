import type { Viewer } from '../../context/viewer.js';
import { passportTier } from '../passports/passport.access.js';
import type { BatteryAudience } from './annex-xiii.js';

/**
 * The Art. 77(2) group of `viewer` for a battery whose passport belongs to `operatorId`: the operator itself,
 * authorities (REGULATOR, CUSTOMS, PLATFORM), persons with a legitimate interest (RECYCLER, SERVICE_PARTNER),
 * the battery's current owner (`isOwner`, asked only when nothing above applies) or the public.
 */
export async function batteryAudience(viewer: Viewer, operatorId: string, isOwner: () => Promise<boolean>): Promise<BatteryAudience> {
  const tier = passportTier(viewer, operatorId);
  if (tier === 'BRAND') return 'OPERATOR';
  if (tier === 'AUTHORITY') return 'AUTHORITY';
  if (tier === 'LEGITIMATE_INTEREST') return 'LEGITIMATE_INTEREST';
  return viewer.kind === 'OWNER' && (await isOwner()) ? 'OWNER' : 'PUBLIC';
}

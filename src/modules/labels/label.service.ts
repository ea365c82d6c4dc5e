import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config/config.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { isUuid } from '../../db/ids.js';
import { newId } from '../../crypto/random.js';
import { rawQuery } from '../../db/raw.js';
import { Organization } from '../organizations/organization.entity.js';
import { ClaimCodes } from '../passports/identity.js';
import { passportTier } from '../passports/passport.access.js';
import { unitUriFormatter } from '../passports/unit-uris.js';

/** One unit as a label shows it. `claimCode` only for a unit nobody owns yet, and only where asked for. */
export type LabelUnit = { id: string; gtin: string; serial: string; lot: string | null; sgtinUri: string; digitalLink: string; claimCode?: string };

/**
 * Labels are for the unit's operator (its brand, or the service partner whose repurposed battery it is) and the
 * platform; everyone else is refused (401 without a key, else 403).
 */
function mayPrint(viewer: Viewer, brandId: string): void {
  if (viewer.kind !== 'ORGANIZATION') throw new UnauthenticatedError('Labels need the brand\'s API key');
  if (viewer.orgKind === 'PLATFORM') return;
  if (passportTier(viewer, brandId) !== 'BRAND') throw new ForbiddenError('Only the unit\'s brand and the platform may print its labels');
}

type UnitRow = { id: string; gtin: string; serial: string; lot: string | null; signature: string | null; owned: boolean };

const UNIT_COLUMNS = `p.id, p.gtin, p.serial, p.lot, p.signature,
  exists (select 1 from ownership o where o.passport_id = p.id and o.ended_at is null) as owned`;

/** A page of this many units is read at a time, so a 100,000-unit batch is never held in memory. */
export const LABEL_PAGE = 500;

export const labelService = {
  /** One unit's label data, checked for the caller. */
  async unit(em: EntityManager, config: Config, viewer: Viewer, passportId: string): Promise<LabelUnit> {
    const [row] = isUuid(passportId)
      ? await rawQuery<UnitRow & { brand_id: string }>(em, `select ${UNIT_COLUMNS}, p.brand_id from passport p where p.id = $1`, [passportId])
      : [];
    if (!row) throw new NotFoundError('Passport', passportId);
    mayPrint(viewer, row.brand_id);
    const brand = await em.findOneOrFail(Organization, { id: row.brand_id });
    const uris = unitUriFormatter(config, brand, row.gtin, row.lot)(row.serial, row.signature);
    return { id: row.id, gtin: row.gtin, serial: row.serial, lot: row.lot, ...uris };
  },

  /**
   * A batch's units in pages (in id order, about mint order), checked for the caller, with claim codes for
   * unowned units when `withClaimCodes`; the download is written to the audit log first, naming the caller.
   */
  async batch(em: EntityManager, config: Config, masterKey: Uint8Array, viewer: Viewer, batchId: string, download: { format: string; withClaimCodes: boolean; requestId: string }) {
    const [batch] = isUuid(batchId) ? await rawQuery<{ brand_id: string; gtin: string; lot: string | null; quantity: number }>(em, 'select brand_id, gtin, lot, quantity from mint_batch where id = $1', [batchId]) : [];
    if (!batch) throw new NotFoundError('MintBatch', batchId);
    mayPrint(viewer, batch.brand_id);
    const org = viewer as Extract<Viewer, { kind: 'ORGANIZATION' }>;
    await rawQuery(
      em,
      `insert into audit_log (id, organization_id, api_key_id, action, passport_id, details, created_at) values ($1, $2, $3, 'LABELS_DOWNLOADED', null, $4, now())`,
      [newId(), org.organizationId, org.apiKeyId, JSON.stringify({ batchId, format: download.format, claimCodes: download.withClaimCodes, requestId: download.requestId })],
    );
    const brand = await em.findOneOrFail(Organization, { id: batch.brand_id });
    const uriOf = unitUriFormatter(config, brand, batch.gtin, batch.lot);
    const codes = new ClaimCodes(masterKey);
    async function* pages(): AsyncGenerator<LabelUnit[]> {
      for (let after = '00000000-0000-0000-0000-000000000000'; ; ) {
        const rows = await rawQuery<UnitRow>(em, `select ${UNIT_COLUMNS} from passport p where p.batch_id = $1 and p.id > $2 order by p.id limit ${LABEL_PAGE}`, [batchId, after]);
        if (!rows.length) return;
        after = rows[rows.length - 1]!.id;
        yield rows.map((r) => ({
          id: r.id,
          gtin: r.gtin,
          serial: r.serial,
          lot: r.lot,
          ...uriOf(r.serial, r.signature),
          ...(download.withClaimCodes && !r.owned ? { claimCode: codes.codeFor(r.id) } : {}),
        }));
      }
    }
    return { quantity: batch.quantity, pages };
  },
};

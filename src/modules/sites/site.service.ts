import countries from 'i18n-iso-countries';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestContext } from '../../context/request-context.js';
import type { Viewer } from '../../context/viewer.js';
import { newId } from '../../crypto/random.js';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import { Gs1Error, parseGln } from '../../gs1/index.js';
import { type IManufacturingSite, ManufacturingSite } from './site.entity.js';

export type PostalAddressInput = { streetAddress: string; postalCode: string; addressLocality: string; addressCountry: string };
export type ManufacturingSiteInput = { identifier: string; name?: string | null; gln?: string | null; address: PostalAddressInput };

/** A site's postal address in the Battery Pass form (`PostalAddressEntity`, plus the town as schema.org names it). */
export type PostalAddress = { streetAddress: string; postalCode: string; addressLocality: string; addressCountry: string };

/** The site a mint names, resolved once for the whole batch. */
export type MintSite = { id: string; identifier: string };

/** Letters, digits, punctuation and spaces: no control characters (they would reach pages and credentials). */
const PRINTABLE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;

function text(field: string, value: string | null | undefined, max: number, required: true): string;
function text(field: string, value: string | null | undefined, max: number, required: false): string | null;
function text(field: string, value: string | null | undefined, max: number, required: boolean): string | null {
  const v = typeof value === 'string' ? value.trim().replace(/\s+/g, ' ') : '';
  if (v === '') {
    if (required) throw new BadInputError(`${field}: required, 1 to ${max} characters`, { field });
    return null;
  }
  if (v.length > max || !PRINTABLE.test(v)) throw new BadInputError(`${field}: 1 to ${max} printable characters`, { field });
  return v;
}

/** A registration checked and normalised, or BAD_USER_INPUT naming the first bad field. */
export function validateSite(input: ManufacturingSiteInput) {
  const identifier = text('identifier', input.identifier, 64, true);
  const name = text('name', input.name, 200, false);
  let gln: string | null = null;
  if (input.gln !== null && input.gln !== undefined && input.gln.trim() !== '') {
    try {
      gln = parseGln(input.gln);
    } catch (e) {
      if (e instanceof Gs1Error) throw new BadInputError(`gln: ${e.message}`, { field: 'gln', reason: e.reason });
      throw e;
    }
  }
  const a = input.address ?? ({} as PostalAddressInput);
  const streetAddress = text('address.streetAddress', a.streetAddress, 200, true);
  const postalCode = text('address.postalCode', a.postalCode, 20, true);
  if (!/^[0-9A-Za-z][0-9A-Za-z -]*$/.test(postalCode)) throw new BadInputError('address.postalCode: letters, digits, spaces and hyphens', { field: 'address.postalCode' });
  const locality = text('address.addressLocality', a.addressLocality, 100, true);
  const country = (a.addressCountry ?? '').trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country) || !countries.isValid(country)) {
    throw new BadInputError('address.addressCountry: an ISO 3166-1 alpha-2 country code', { field: 'address.addressCountry' });
  }
  return { identifier, name, gln, streetAddress, postalCode, locality, country };
}

function brandOf(viewer: Viewer): string {
  if (viewer.kind !== 'ORGANIZATION' || viewer.orgKind !== 'BRAND') throw new ForbiddenError('Only a BRAND organisation registers manufacturing sites');
  return viewer.organizationId;
}

/** The postal address of a site row, as a battery passport's `manufacturingPlace` carries it. */
export function postalAddressOf(site: Pick<IManufacturingSite, 'streetAddress' | 'postalCode' | 'locality' | 'country'>): PostalAddress {
  return { streetAddress: site.streetAddress, postalCode: site.postalCode, addressLocality: site.locality, addressCountry: site.country };
}

/** Manufacturing sites a brand registers once and names when it mints. Knows nothing of GraphQL. */
export const siteService = {
  /**
   * Registers a site of the calling brand. BAD_USER_INPUT for a malformed field; CONFLICT when the brand already
   * has a site with this identifier or GLN (the unique indexes decide between concurrent registrations: one wins).
   */
  async register(ctx: RequestContext, input: ManufacturingSiteInput): Promise<IManufacturingSite> {
    const brandId = brandOf(ctx.viewer);
    const v = validateSite(input);
    const id = newId();
    // One statement: a refused registration writes nothing; a concurrent one with the same key waits, then loses here.
    const inserted = await rawQuery<{ id: string }>(
      ctx.em,
      `insert into manufacturing_site (id, brand_id, identifier, name, gln, street_address, postal_code, locality, country, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict do nothing returning id`,
      [id, brandId, v.identifier, v.name, v.gln, v.streetAddress, v.postalCode, v.locality, v.country, new Date().toISOString()],
    );
    if (inserted.length === 0) {
      const [taken] = await rawQuery<{ id: string; identifier: string }>(
        ctx.em,
        'select id, identifier from manufacturing_site where brand_id = $1 and (identifier = $2 or gln = $3) order by identifier = $2 desc limit 1',
        [brandId, v.identifier, v.gln],
      );
      const field = taken?.identifier === v.identifier ? 'identifier' : 'gln';
      throw new ConflictError(`${field}: this brand already registered a site with this ${field === 'gln' ? 'GLN' : 'identifier'}`, { field, siteId: taken?.id });
    }
    return ctx.em.fork().findOneOrFail(ManufacturingSite, { id });
  },

  /** The calling brand's sites, by identifier. */
  async list(ctx: RequestContext): Promise<IManufacturingSite[]> {
    const brandId = brandOf(ctx.viewer);
    return ctx.em.find(ManufacturingSite, { brand: brandId }, { orderBy: { identifier: 'asc' } });
  },

  /**
   * The site a mint of `brandId` names, in one statement for the whole batch. NOT_FOUND for an id that names no
   * site, or another brand's (which this brand may not learn exists).
   */
  async forMint(em: EntityManager, brandId: string, siteId: string): Promise<MintSite> {
    const id = isUuid(siteId) ? siteId.toLowerCase() : null;
    const [site] = id ? await rawQuery<MintSite>(em, 'select id, identifier from manufacturing_site where id = $1 and brand_id = $2', [id, brandId]) : [];
    if (!site) throw new NotFoundError('ManufacturingSite', siteId);
    return site;
  },
};

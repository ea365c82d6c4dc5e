import type { Config } from '../../config/config.js';
import type { JsonObject } from '../../crypto/data-integrity.js';
import { formatDigitalLink } from '../../gs1/index.js';
import { brandDid } from '../keys/did.js';
import type { IOrganization } from '../organizations/organization.entity.js';
import type { Dpp } from '../product-models/product-model.dpp.js';
import type { IProductModel } from '../product-models/product-model.entity.js';
import { statusEntry } from '../status-lists/status-list.service.js';
import type { IPassport } from './passport.entity.js';

/** UNTP 0.6.0 contexts: VC 2.0 first, then the UNTP vocabulary of the credential type. */
export const UNTP_DPP_CONTEXT = 'https://test.uncefact.org/vocabulary/untp/dpp/0.6.0/';
export const UNTP_DTE_CONTEXT = 'https://test.uncefact.org/vocabulary/untp/dte/0.6.0/';
const VC_V2 = 'https://www.w3.org/ns/credentials/v2';
const GTIN_SCHEME = { type: ['IdentifierScheme'], id: 'https://id.gs1.org/01/', name: 'Global Trade Item Number (GTIN)' };

const seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const link = (linkURL: string, linkName: string, linkType?: string) => ({ type: ['Link'], linkURL, linkName, ...(linkType ? { linkType } : {}) });
/** A whole number of per cent as a fraction, without floating-point noise (12.5 → 0.125). */
const fraction = (percent: number) => Math.round(percent * 1e4) / 1e6;

/** What a tier may see in the UNTP passport: the public tier, or everything (LEGITIMATE_INTEREST and up). */
export type UntpView = 'public' | 'full';

/** The `CredentialIssuer` UNTP wants: the brand's did:web and its name. */
export function untpIssuer(config: Config, brand: IOrganization): JsonObject {
  return { type: ['CredentialIssuer'], id: brandDid(config, brand.id), name: brand.name };
}

/** Mass-weighted recycled content of the product (0..1), when every material states its share. */
function recycledContent(materials: NonNullable<Dpp['materials']>): number | undefined {
  if (!materials.length || materials.some((m) => m.recycledContentPercent === undefined)) return undefined;
  return fraction(materials.reduce((sum, m) => sum + (m.massPercent * m.recycledContentPercent!) / 100, 0));
}

/**
 * The unit as a UNTP 0.6.0 DigitalProductPassport (unsecured). Properties with no source in our data are
 * left out, never invented: no facility unless the site is itself an identifier (a URL), no country of
 * production, no emissions scorecard (UNTP requires a primary-sourced ratio we do not hold). The public
 * view leaves out what the public tier does not see: manufacture facts, material origins, repair and
 * disassembly instructions. A battery unit's `battery` (its public battery pass) goes in `product.characteristics`.
 */
export function untpPassportCredential(config: Config, p: IPassport, model: IProductModel, brand: IOrganization, view: UntpView, battery?: JsonObject | null): JsonObject {
  const dpp = (model.dpp ?? {}) as Dpp;
  const full = view === 'full';
  const productId = formatDigitalLink({ host: config.resolverHost, gtin: p.gtin, serial: p.serial, lot: p.lot ?? undefined });
  const site = full && p.site && /^https?:\/\//.test(p.site) ? { producedAtFacility: { id: p.site, name: p.site } } : {};
  const product: JsonObject = {
    type: ['Product'],
    id: productId,
    name: model.name,
    registeredId: `${p.gtin}.21.${p.serial}`,
    idScheme: GTIN_SCHEME,
    serialNumber: p.serial,
    ...(p.lot ? { batchNumber: p.lot } : {}),
    producedByParty: { id: brandDid(config, brand.id), name: brand.name },
    ...site,
    ...(full ? { productionDate: p.manufacturedAt.toISOString().slice(0, 10) } : {}),
    ...(dpp.documents?.length ? { furtherInformation: dpp.documents.map((d) => link(d.url, d.title, d.type)) } : {}),
    // UNTP's extension point for category-specific data: a battery's public battery pass (Annex XIII point 1 only, every view).
    ...(battery ? { characteristics: { type: ['Characteristics'], batteryPass: battery } } : {}),
  };
  const materials = dpp.materials ?? [];
  const materialsProvenance = materials.map((m) => ({
    type: ['Material'],
    name: m.name,
    massFraction: fraction(m.massPercent),
    ...(m.recycledContentPercent !== undefined ? { recycledMassFraction: fraction(m.recycledContentPercent) } : {}),
    ...(full && m.origin ? { originCountry: m.origin } : {}),
  }));
  const recycled = recycledContent(materials);
  const circularity = {
    ...(full && dpp.repair?.instructionsUrl ? { repairInformation: link(dpp.repair.instructionsUrl, 'Repair instructions') } : {}),
    ...(full && dpp.disassembly?.instructionsUrl ? { recyclingInformation: link(dpp.disassembly.instructionsUrl, 'Disassembly instructions') } : {}),
    ...(recycled !== undefined ? { recycledContent: recycled } : {}),
  };
  return {
    '@context': [VC_V2, UNTP_DPP_CONTEXT],
    type: ['DigitalProductPassport', 'VerifiableCredential'],
    id: `urn:uuid:${p.id}`,
    issuer: untpIssuer(config, brand),
    validFrom: seconds(p.signedAt ?? p.createdAt),
    credentialSubject: {
      type: ['ProductPassport'],
      id: productId,
      granularityLevel: 'item',
      product,
      ...(materialsProvenance.length ? { materialsProvenance } : {}),
      ...(Object.keys(circularity).length ? { circularityScorecard: { type: ['CircularityPerformance'], ...circularity } } : {}),
    },
    ...(p.statusListId && p.statusIndex != null
      ? { credentialStatus: statusEntry(config, brand.id, { listId: p.statusListId, index: p.statusIndex }) }
      : {}),
  };
}

/** An enveloped credential (VC 2.0 §4.13, VC-JOSE-COSE §3.1.1): the JWS travels as a data: URL. */
export function envelope(jws: string): JsonObject {
  return { '@context': [VC_V2], type: 'EnvelopedVerifiableCredential', id: `data:application/vc+jwt,${jws}` };
}

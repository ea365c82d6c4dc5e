import type { Config } from '../../config/config.js';
import { digitalLinkFormatter, gtinHasCompanyPrefix, sgtinUriFormatter } from '../../gs1/index.js';
import type { IOrganization } from '../organizations/organization.entity.js';
import type { IPassport } from './passport.entity.js';

/** The company prefix length of a GTIN under one of the brand's prefixes (longest match). */
export function prefixLengthFor(brand: Pick<IOrganization, 'gs1CompanyPrefixes'>, gtin: string): number {
  const matches = brand.gs1CompanyPrefixes.filter((p) => gtinHasCompanyPrefix(gtin, p));
  return Math.max(7, ...matches.map((p) => p.length));
}

/** The URIs of one unit: EPC pure identity and the GS1 Digital Link (with `?sig=` once signed). */
export function unitUris(config: Pick<Config, 'resolverHost'>, brand: Pick<IOrganization, 'gs1CompanyPrefixes'>, p: Pick<IPassport, 'gtin' | 'serial' | 'lot' | 'signature'>) {
  return unitUriFormatter(config, brand, p.gtin, p.lot)(p.serial, p.signature);
}

/** {@link unitUris} for many units of one GTIN and lot (a mint batch): what they share is formatted once. */
export function unitUriFormatter(config: Pick<Config, 'resolverHost'>, brand: Pick<IOrganization, 'gs1CompanyPrefixes'>, gtin: string, lot: string | null | undefined) {
  const epc = sgtinUriFormatter(gtin, prefixLengthFor(brand, gtin));
  const link = digitalLinkFormatter({ host: config.resolverHost, gtin, lot: lot ?? undefined });
  return (serial: string, signature: string | null | undefined) => ({ sgtinUri: epc(serial), digitalLink: link(serial, signature ?? undefined) });
}


import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/config.js';
import type { JsonObject } from '../../crypto/data-integrity.js';
import type { IOrganization } from '../organizations/organization.entity.js';
import { UNTP_DTE_CONTEXT, untpIssuer } from '../passports/untp.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A CBV short name as the URI UNTP's x-external-enumeration names (`https://ref.gs1.org/cbv/BizStep-…`); URIs stay. */
function cbvUri(value: unknown, kind: 'BizStep' | 'Disp'): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return /^[a-z][a-z0-9+.-]*:/i.test(value) ? value : `https://ref.gs1.org/cbv/${kind}-${value}`;
}

/** An EPCIS location (`{ id }`) as a URI, or undefined. */
const locationId = (v: unknown) => (isObj(v) && typeof v.id === 'string' ? v.id : undefined);

/**
 * One EPCIS 2.0 ObjectEvent as UNTP's DTE ObjectEvent: id, time, lower-case action, CBV URIs, business
 * location, and the units as `Item`s named after the product. What DTE 0.6.0 has no place for (readPoint,
 * sources and destinations, ILMD) stays in the EPCIS export.
 */
function dteEvent(e: Obj, itemName: (epc: string) => { id: string; name: string }): JsonObject {
  const epcs = Array.isArray(e.epcList) ? e.epcList.filter((x): x is string => typeof x === 'string') : [];
  const bizStep = cbvUri(e.bizStep, 'BizStep');
  const disposition = cbvUri(e.disposition, 'Disp');
  const bizLocation = locationId(e.bizLocation);
  return {
    type: ['ObjectEvent', 'Event'],
    id: String(e.eventID),
    eventTime: String(e.eventTime),
    action: String(e.action).toLowerCase(),
    ...(bizStep ? { bizStep } : {}),
    ...(disposition ? { disposition } : {}),
    ...(bizLocation ? { bizLocation } : {}),
    epcList: epcs.map((epc) => ({ type: ['Item'], ...itemName(epc) })),
  };
}

/**
 * The unit's custody as a UNTP 0.6.0 DigitalTraceabilityEvent credential (unsecured), issued by its brand,
 * from the unit's EPCIS 2.0 export (so both always say the same).
 */
export function untpTraceabilityCredential(config: Config, brand: IOrganization, epcis: Obj, itemName: (epc: string) => { id: string; name: string }): JsonObject {
  const events = isObj(epcis.epcisBody) && Array.isArray(epcis.epcisBody.eventList) ? epcis.epcisBody.eventList.filter(isObj) : [];
  return {
    '@context': ['https://www.w3.org/ns/credentials/v2', UNTP_DTE_CONTEXT],
    type: ['DigitalTraceabilityEvent', 'VerifiableCredential'],
    id: `urn:uuid:${randomUUID()}`,
    issuer: untpIssuer(config, brand),
    validFrom: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    credentialSubject: events.map((e) => dteEvent(e, itemName)),
  };
}

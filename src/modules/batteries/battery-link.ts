/**
 * The namespace of this resolver's own link types (`dpp:`), listed in `/.well-known/gs1resolver`: our vocabulary
 * namespace (README "Passport credential vocabulary"), since GS1's web vocabulary has no battery passport type yet.
 */
export const DPP_LINK_TYPES = 'urn:uuid:ae8c843a-59ea-4a67-80e5-c6ebb4e22505#';
export const DPP_LINK_PREFIX = 'dpp:';

/** `?linkType=` values that answer a battery's Digital Link with its battery passport: bare, as a CURIE, as the IRI. */
export const BATTERY_PASS_LINK_TYPES: ReadonlySet<string> = new Set(['batteryPass', `${DPP_LINK_PREFIX}batteryPass`, `${DPP_LINK_TYPES}batteryPass`]);

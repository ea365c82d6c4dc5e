/**
 * GS1 EPCIS 2.0 capture and export of custody events, split along its seams: types and limits
 * (epcis-types), JSON helpers (epcis-json), field checks (epcis-checks), GS1's JSON schema (epcis-schema),
 * capture (epcis-capture) and export (epcis-export). This module re-exports the public surface.
 */
export * from './epcis-types.js';
export { parseRfc3339 } from './epcis-json.js';
export { derivedEventId, eventHash, type EventHash, type EventHashOptions } from './event-hash.js';
export { formatLgtinDigitalLink, parseLgtin } from './epcis-checks.js';
export { parseCaptureDocument } from './epcis-capture.js';
export { exportDocument } from './epcis-export.js';

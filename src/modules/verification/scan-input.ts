import { BadInputError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { Gs1Error, isValidSerial, parseGtin, parseIdentifier } from '../../gs1/index.js';
import { parseSunInput, type SunInput } from '../nfc-tags/nfc-tag.service.js';
import { validCoordinates } from './geo.js';
import { NfcSunError, parseSunQuery } from './nfc-sun.js';
import { normaliseMarkets } from '../organizations/organization.service.js';

export type ScanInput = {
  digitalLink?: string | null;
  gtin?: string | null;
  serial?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  country?: string | null;
  deviceId?: string | null;
  /** An NFC SUN tap; also read from the Digital Link's `picc_data` and `cmac` parameters, as a tag writes them. */
  nfc?: SunInput | null;
  at?: Date | null;
};

function bad(field: string, message: string): BadInputError {
  return new BadInputError(`${field}: ${message}`, { field });
}

/** Validates a scan and names the unit it claims to be; nothing is read or written yet. */
export function parseScan(viewer: Viewer, input: ScanInput) {
  let gtin: string;
  let serial: string;
  let sig: string | undefined;
  let lot: string | undefined;
  try {
    if (input.digitalLink) {
      const id = parseIdentifier(input.digitalLink);
      ({ gtin, serial, sig, lot } = id);
    } else if (input.gtin && input.serial) {
      gtin = parseGtin(input.gtin);
      if (!isValidSerial(input.serial)) throw bad('serial', '1 to 20 characters of the GS1 AI 21 character set');
      serial = input.serial;
    } else {
      throw new BadInputError('Give digitalLink, or gtin and serial', { field: 'digitalLink' });
    }
  } catch (e) {
    if (e instanceof Gs1Error) throw bad(input.digitalLink ? 'digitalLink' : 'gtin', e.message);
    throw e;
  }
  const hasLat = input.latitude != null;
  const hasLon = input.longitude != null;
  if (hasLat !== hasLon) throw bad('latitude', 'latitude and longitude go together');
  if (hasLat && !validCoordinates(input.latitude, input.longitude)) throw bad('latitude', 'coordinates out of range');
  const country = input.country ? normaliseMarkets([input.country], 'country')[0]! : null;
  if (input.deviceId != null && (input.deviceId.length < 1 || input.deviceId.length > 200)) throw bad('deviceId', '1 to 200 characters');
  let at = new Date();
  if (input.at) {
    // A consumer's phone does not get to choose when it scanned; trusted systems replaying logs may.
    if (viewer.kind !== 'ORGANIZATION') throw bad('at', 'accepted only from organisation callers');
    if (Number.isNaN(input.at.getTime()) || input.at.getTime() > Date.now() + 5 * 60_000) throw bad('at', 'a valid time, not in the future');
    at = input.at;
  }
  const nfc = parseNfc(input);
  return { gtin, serial, lot, sig, lat: input.latitude ?? null, lon: input.longitude ?? null, country, deviceId: input.deviceId ?? null, nfc, at, live: !input.at };
}

/** The SUN message of a scan: `input.nfc`, or the `picc_data` / `cmac` a tag appended to the Digital Link (both: they must agree). */
function parseNfc(input: ScanInput): SunInput | null {
  const given = input.nfc ? parseSunInput(input.nfc) : null;
  const link = input.digitalLink && /[?&](?:picc_data|cmac)=/.test(input.digitalLink) ? input.digitalLink : null;
  if (!link) return given;
  let carried: SunInput;
  try {
    carried = parseSunQuery(link);
  } catch (e) {
    if (e instanceof NfcSunError) throw bad('digitalLink', `NFC SUN parameters: ${e.message}`);
    throw e;
  }
  if (given && (given.piccData !== carried.piccData || given.cmac !== carried.cmac)) throw bad('nfc', 'differs from the picc_data and cmac in digitalLink');
  return carried;
}

export type ParsedScan = ReturnType<typeof parseScan>;

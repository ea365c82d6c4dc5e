import { Buffer } from 'node:buffer';
import { Gs1Error, gtinCheckDigit, parseGtin } from './gtin.js';
import { assertValidSerial } from './serial.js';

/** An SGTIN decoded from an EPC pure identity URI. */
export interface SgtinIdentity {
  gtin14: string;
  serial: string;
  companyPrefixLength: number;
}

const SGTIN_PREFIX = 'urn:epc:id:sgtin:';
const MAX_URI_LENGTH = 2048;
const EPC_UNESCAPED = /[A-Za-z0-9!'()*+,\-.:;=_]/;
const EPC_COMPONENT = /^(?:[A-Za-z0-9!'()*+,\-.:;=_]|%[0-9A-Fa-f]{2})+$/;

function assertCompanyPrefixLength(length: number): void {
  if (!Number.isInteger(length) || length < 6 || length > 12) {
    throw new Gs1Error('LENGTH', 'company prefix length must be an integer from 6 to 12');
  }
}

/** Escapes a serial for an EPC URI per the Tag Data Standard: only `A-Z a-z 0-9 ! ' ( ) * + , - . : ; = _` stay literal. */
export function encodeEpcComponent(value: string): string {
  let out = '';
  for (const ch of value) {
    if (EPC_UNESCAPED.test(ch)) {
      out += ch;
    } else {
      for (const byte of Buffer.from(ch, 'utf8')) {
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      }
    }
  }
  return out;
}

function decodeEpcComponent(value: string): string {
  if (value.length === 0) throw new Gs1Error('LENGTH', 'EPC URI serial is empty');
  if (!EPC_COMPONENT.test(value)) {
    throw new Gs1Error('CHARSET', 'EPC URI serial has characters that must be percent-encoded');
  }
  try {
    return decodeURIComponent(value);
  } catch {
    throw new Gs1Error('FORMAT', 'EPC URI serial has a malformed percent-encoding');
  }
}

/**
 * Builds the EPC pure identity URI `urn:epc:id:sgtin:<prefix>.<indicator+itemRef>.<serial>` (TDS),
 * dropping the check digit and percent-encoding the serial.
 */
export function sgtinUri(gtin14: string, serial: string, companyPrefixLength: number): string {
  return sgtinUriFormatter(gtin14, companyPrefixLength)(serial);
}

/** {@link sgtinUri} for many serials of one GTIN: the GTIN and prefix length are checked once. */
export function sgtinUriFormatter(gtin14: string, companyPrefixLength: number): (serial: string) => string {
  const gtin = parseGtin(gtin14);
  assertCompanyPrefixLength(companyPrefixLength);
  const prefix = `${SGTIN_PREFIX}${gtin.slice(1, 1 + companyPrefixLength)}.${gtin[0]}${gtin.slice(1 + companyPrefixLength, 13)}.`;
  return (serial) => {
    assertValidSerial(serial);
    return prefix + encodeEpcComponent(serial);
  };
}

/** Parses an EPC SGTIN pure identity URI back into GTIN-14 (check digit recomputed), decoded serial and prefix length. */
export function parseSgtinUri(uri: string): SgtinIdentity {
  if (typeof uri !== 'string') throw new Gs1Error('FORMAT', 'EPC URI must be a string');
  if (uri.length > MAX_URI_LENGTH) throw new Gs1Error('LENGTH', 'EPC URI is too long');
  const trimmed = uri.trim();
  if (trimmed.slice(0, SGTIN_PREFIX.length).toLowerCase() !== SGTIN_PREFIX) {
    throw new Gs1Error('FORMAT', 'not an urn:epc:id:sgtin: URI');
  }
  const parts = trimmed.slice(SGTIN_PREFIX.length).split('.');
  if (parts.length < 3) throw new Gs1Error('FORMAT', 'SGTIN URI needs company prefix, item reference and serial');
  const [companyPrefix, itemRef] = parts as [string, string];
  const rawSerial = parts.slice(2).join('.');
  if (!/^[0-9]+$/.test(companyPrefix) || !/^[0-9]+$/.test(itemRef)) {
    throw new Gs1Error('CHARSET', 'SGTIN company prefix and item reference must be digits');
  }
  assertCompanyPrefixLength(companyPrefix.length);
  if (companyPrefix.length + itemRef.length !== 13) {
    throw new Gs1Error('LENGTH', 'SGTIN company prefix and item reference must total 13 digits');
  }
  const serial = assertValidSerial(decodeEpcComponent(rawSerial));
  const body = itemRef[0] + companyPrefix + itemRef.slice(1);
  return {
    gtin14: body + String(gtinCheckDigit(body)),
    serial,
    companyPrefixLength: companyPrefix.length,
  };
}

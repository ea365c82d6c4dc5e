import { Buffer } from 'node:buffer';
import { Gs1Error, parseGtin } from './gtin.js';
import { parseSgtinUri } from './epc.js';
import { assertCset82Value } from './serial.js';

/** Inputs for a GS1 Digital Link URI. `host` may carry a port, a path prefix and an http(s) scheme. */
export interface DigitalLinkInput {
  host: string;
  gtin: string;
  serial: string;
  cpv?: string;
  lot?: string;
  sig?: string;
}

/** The identity carried by a passport URI, whichever syntax it came in. */
export interface Gs1Identifier {
  gtin: string;
  serial: string;
  cpv?: string;
  lot?: string;
  sig?: string;
}

/** A parsed Digital Link: `host` is the authority, `base` is scheme + authority + path prefix. */
export interface ParsedDigitalLink extends Gs1Identifier {
  host: string;
  base: string;
}

/** Longest URI accepted by the parsers. */
export const MAX_URI_LENGTH = 2048;

const QUALIFIER_ORDER = ['22', '10', '21'] as const;
type Qualifier = (typeof QUALIFIER_ORDER)[number];
const QUALIFIER_LABEL: Record<Qualifier, string> = { '22': 'CPV', '10': 'lot', '21': 'serial' };

const HTTP_SCHEME = /^https?:\/\//i;
const URI_PARTS = /^(https?):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/i;
const PATH_SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function encodeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9\-._~]/g, (ch) =>
    Array.from(Buffer.from(ch, 'utf8'), (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

function decodeComponent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new Gs1Error('FORMAT', 'malformed percent-encoding in URI');
  }
}

function assertAiValue(value: string, label: string): string {
  assertCset82Value(value, label);
  if (value === '.' || value === '..') {
    throw new Gs1Error('FORMAT', `${label} cannot be a dot segment in a URI path`);
  }
  return value;
}

function assertSig(sig: string): string {
  if (typeof sig !== 'string' || !BASE64URL.test(sig)) {
    throw new Gs1Error('FORMAT', 'sig must be unpadded base64url');
  }
  return sig;
}

function resolveBase(host: string): string {
  if (typeof host !== 'string' || host.trim().length === 0) throw new Gs1Error('FORMAT', 'host is empty');
  const trimmed = host.trim();
  if (!HTTP_SCHEME.test(trimmed) && /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(trimmed)) {
    throw new Gs1Error('FORMAT', 'host scheme must be http or https');
  }
  const base = (HTTP_SCHEME.test(trimmed) ? trimmed : `https://${trimmed}`).replace(/\/+$/, '');
  const parts = URI_PARTS.exec(base);
  if (!parts || parts[4] !== undefined || base.includes('#')) {
    throw new Gs1Error('FORMAT', 'host must be an http(s) origin with an optional path prefix');
  }
  parseAuthority(parts[1]!, parts[2]!);
  assertPathSegments(parts[3]!.split('/').slice(1));
  return base;
}

function assertPathSegments(segments: readonly string[]): void {
  if (!segments.every((segment) => PATH_SEGMENT.test(segment))) {
    throw new Gs1Error('FORMAT', 'URI path has characters that must be percent-encoded');
  }
}

function parseAuthority(scheme: string, authority: string): string {
  if (authority.length === 0 || authority.includes('@')) {
    throw new Gs1Error('FORMAT', 'URI authority is missing or carries credentials');
  }
  let url: URL;
  try {
    url = new URL(`${scheme}://${authority}/`);
  } catch {
    throw new Gs1Error('FORMAT', 'URI host is malformed');
  }
  return url.host;
}

/**
 * Formats a GS1 Digital Link URI `https://<host>/01/<gtin14>[/22/<cpv>][/10/<lot>]/21/<serial>[?sig=...]`.
 * The GTIN is normalised to 14 digits; qualifier values are percent-encoded.
 */
export function formatDigitalLink(input: DigitalLinkInput): string {
  return digitalLinkFormatter(input)(input.serial, input.sig);
}

/**
 * {@link formatDigitalLink} for many units of one GTIN (and CPV and lot): the host, GTIN and
 * qualifiers are checked and encoded once; each call checks and encodes only the serial and signature.
 */
export function digitalLinkFormatter(input: Omit<DigitalLinkInput, 'serial' | 'sig'>): (serial: string, sig?: string) => string {
  const prefix = `${levelLink(input)}/21/`;
  return (serial, sig) => {
    const uri = prefix + encodeSegment(assertAiValue(serial, 'serial'));
    return sig === undefined ? uri : `${uri}?sig=${assertSig(sig)}`;
  };
}

/** A parsed GS1 Digital Link that may stop above the serial: a product-level (`/01/…`) or lot-level link. */
export type ParsedGs1Link = Omit<ParsedDigitalLink, 'serial'> & { serial?: string };

/** The link of a product (`/01/{gtin}`) or of a level above the serial (`/22/`, `/10/`), as {@link formatDigitalLink} writes it. */
export function formatGs1Link(input: Omit<DigitalLinkInput, 'sig' | 'serial'> & { serial?: string }): string {
  return input.serial === undefined ? levelLink(input) : formatDigitalLink({ ...input, serial: input.serial });
}

function levelLink(input: Omit<DigitalLinkInput, 'serial' | 'sig'>): string {
  let link = `${resolveBase(input.host)}/01/${parseGtin(input.gtin)}`;
  if (input.cpv !== undefined) link += `/22/${encodeSegment(assertAiValue(input.cpv, 'CPV'))}`;
  if (input.lot !== undefined) link += `/10/${encodeSegment(assertAiValue(input.lot, 'lot'))}`;
  return link;
}

/**
 * Parses a GS1 Digital Link URI with any host and path prefix, requiring 01 and 21 with optional 22 and 10
 * in spec order; reads `sig` from the query and ignores other parameters. Throws Gs1Error on anything malformed.
 */
export function parseDigitalLink(uri: string): ParsedDigitalLink {
  const link = parseGs1Link(uri);
  if (link.serial === undefined) throw new Gs1Error('FORMAT', 'Digital Link has no /21/ serial');
  return link as ParsedDigitalLink;
}

/**
 * {@link parseDigitalLink} without requiring the serial: `/01/{gtin}` with optional `/22/`, `/10/` and `/21/` in
 * spec order (a resolver answers product- and lot-level links too).
 */
export function parseGs1Link(uri: string): ParsedGs1Link {
  if (typeof uri !== 'string') throw new Gs1Error('FORMAT', 'URI must be a string');
  if (uri.length > MAX_URI_LENGTH) throw new Gs1Error('LENGTH', `URI exceeds ${MAX_URI_LENGTH} characters`);
  const trimmed = uri.trim();
  if (trimmed.length === 0) throw new Gs1Error('FORMAT', 'URI is empty');
  const parts = URI_PARTS.exec(trimmed);
  if (!parts) throw new Gs1Error('FORMAT', 'Digital Link must be an http or https URI');
  const scheme = parts[1]!.toLowerCase();
  const host = parseAuthority(scheme, parts[2]!);
  const segments = parts[3]!.split('/').slice(1);
  assertPathSegments(segments);

  const pairs: Array<[string, string]> = [];
  let end = segments.length;
  for (;;) {
    if (end < 2) throw new Gs1Error('FORMAT', 'Digital Link has no /01/ GTIN');
    const ai = segments[end - 2]!;
    const raw = segments[end - 1]!;
    if (ai !== '01' && !(QUALIFIER_ORDER as readonly string[]).includes(ai)) {
      throw new Gs1Error('FORMAT', 'Digital Link path has an unsupported or misplaced segment');
    }
    pairs.unshift([ai, decodeComponent(raw)]);
    end -= 2;
    if (ai === '01') break;
  }

  const [[, gtinValue], ...qualifiers] = pairs as [[string, string], ...Array<[string, string]>];
  const values: Partial<Record<Qualifier, string>> = {};
  let lastIndex = -1;
  for (const [ai, value] of qualifiers) {
    const index = QUALIFIER_ORDER.indexOf(ai as Qualifier);
    if (index <= lastIndex) throw new Gs1Error('FORMAT', 'Digital Link qualifiers are repeated or out of order');
    lastIndex = index;
    values[ai as Qualifier] = assertAiValue(value, QUALIFIER_LABEL[ai as Qualifier]);
  }

  let sig: string | undefined;
  for (const param of parts[4]?.split('&') ?? []) {
    const eq = param.indexOf('=');
    const rawKey = eq === -1 ? param : param.slice(0, eq);
    let key: string;
    try {
      key = decodeURIComponent(rawKey);
    } catch {
      continue;
    }
    if (key !== 'sig') continue;
    if (sig !== undefined) throw new Gs1Error('FORMAT', 'sig appears more than once');
    sig = assertSig(decodeComponent(eq === -1 ? '' : param.slice(eq + 1)));
  }

  const prefix = segments.slice(0, end);
  const result: ParsedGs1Link = {
    gtin: parseGtin(gtinValue),
    host,
    base: `${scheme}://${host}${prefix.length > 0 ? `/${prefix.join('/')}` : ''}`,
  };
  if (values['21'] !== undefined) result.serial = values['21'];
  if (values['22'] !== undefined) result.cpv = values['22'];
  if (values['10'] !== undefined) result.lot = values['10'];
  if (sig !== undefined) result.sig = sig;
  return result;
}

/** Parses either a GS1 Digital Link URI or an `urn:epc:id:sgtin:` URI into the passport identity. */
export function parseIdentifier(s: string): Gs1Identifier {
  if (typeof s !== 'string') throw new Gs1Error('FORMAT', 'identifier must be a string');
  if (s.length > MAX_URI_LENGTH) throw new Gs1Error('LENGTH', `identifier exceeds ${MAX_URI_LENGTH} characters`);
  const trimmed = s.trim();
  if (/^urn:epc:id:sgtin:/i.test(trimmed)) {
    const { gtin14, serial } = parseSgtinUri(trimmed);
    return { gtin: gtin14, serial };
  }
  const { host: _host, base: _base, ...identity } = parseDigitalLink(trimmed);
  return identity;
}

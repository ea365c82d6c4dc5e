import { Buffer } from 'node:buffer';
import { canonicalJson } from '../../crypto/jcs.js';

/** Plain-JSON helpers of EPCIS capture and export: object tests, URI and time syntax, @context namespaces. */

export type Json = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\u0000-\u001f\u007f"<>\\^`{|}]+$/;
export const OFFSET = /^[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)$/;
export const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
export const PREFIX = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Parses an RFC 3339 date-time with a `Z` or `±hh:mm` offset; returns the error text when it is not one. */
export function parseRfc3339(s: unknown): Date | string {
  if (typeof s !== 'string') return `must be an RFC 3339 date-time string, got ${kindOf(s)}`;
  const m = RFC3339.exec(s);
  if (!m) return 'must be an RFC 3339 date-time with an offset, e.g. 2024-05-01T10:00:00.000+02:00';
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(2000, month, 0)).getUTCDate() : 0;
  const leapAdjusted = month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || leapAdjusted) return 'has an invalid calendar date';
  if (hour > 23 || minute > 59 || second > 59) return 'has an invalid time of day (leap seconds are not accepted)';
  let offsetMinutes = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return 'has an invalid offset';
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, millis);
  return new Date(d.getTime() - offsetMinutes * 60_000);
}

/** Formats an instant as `YYYY-MM-DDTHH:mm:ss.sss±hh:mm` in the given offset. */
export function formatWithOffset(instant: Date, offset: string): string {
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  const local = new Date(instant.getTime() + minutes * 60_000);
  const iso = local.toISOString();
  if (!/^\d{4}-/.test(iso)) throw new RangeError('eventTime must fall in the years 0000 to 9999');
  return `${iso.slice(0, 23)}${offset}`;
}

export function jsonCopy(value: unknown): { copy: unknown; bytes: number } {
  const text = canonicalJson(value);
  return { copy: JSON.parse(text), bytes: Buffer.byteLength(text, 'utf8') };
}

/** Prefix → IRI entries of a JSON-LD @context (string items are remote contexts and contribute nothing here). */
export function contextNamespaces(ctx: unknown, into: Map<string, string>): boolean {
  const items = Array.isArray(ctx) ? ctx : [ctx];
  for (const item of items) {
    if (typeof item === 'string') {
      if (!URI.test(item)) return false;
      continue;
    }
    if (!isPlainObject(item)) return false;
    for (const [key, value] of Object.entries(item)) {
      if (key.startsWith('@') || key.includes(':') || key === '__proto__' || !PREFIX.test(key)) continue;
      const iri = typeof value === 'string' ? value : isPlainObject(value) && typeof value['@id'] === 'string' ? value['@id'] : undefined;
      if (iri !== undefined && URI.test(iri)) into.set(key, iri);
    }
  }
  return true;
}


import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { BadInputError } from '../../errors/app-error.js';

/** Whether an address may be called when private networks are off limits: public unicast only (ipaddr.js classifies the rest). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range() === 'unicast';
}

/**
 * Checks an endpoint URL as a brand gives it: absolute http(s) without credentials; in production (`strict`)
 * https only and no literal loopback, link-local or private address (names are checked again on every
 * delivery, after DNS resolution: see {@link guardedLookup}). Answers the normalised URL.
 */
export function checkWebhookUrl(raw: string, strict: boolean): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new BadInputError('url: not an absolute URL', { field: 'url' });
  }
  if (raw.length > 2048) throw new BadInputError('url: at most 2048 characters', { field: 'url' });
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new BadInputError('url: http(s) only', { field: 'url' });
  if (url.username || url.password) throw new BadInputError('url: no credentials in the URL', { field: 'url' });
  if (strict) {
    if (url.protocol !== 'https:') throw new BadInputError('url: https only', { field: 'url' });
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) ? !isPublicAddress(host) : host === 'localhost' || host.endsWith('.localhost')) {
      throw new BadInputError('url: loopback, link-local and private addresses are refused', { field: 'url' });
    }
  }
  return url.toString();
}

/** Thrown (as a connection error) when a name resolves to an address deliveries may not reach. */
export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses private answers: the check applies to the address actually
 * connected to, so a name that resolves differently later (DNS rebinding) gains nothing.
 */
export function guardedLookup(hostname: string, options: { all?: boolean }, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const blocked = addresses.find((a) => !isPublicAddress(a.address));
    if (blocked) return callback(new BlockedAddressError(`${hostname} resolves to ${blocked.address}, a non-public address`), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

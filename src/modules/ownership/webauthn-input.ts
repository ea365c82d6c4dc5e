import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import { BadInputError } from '../../errors/app-error.js';
import { PasskeyRefusedError, type PasskeyRefusal } from './ownership.errors.js';

// -------------------------------------------------------------------------------------------------
// Input shapes: the JSON of a WebAuthn response (PublicKeyCredential.toJSON(), or @simplewebauthn/browser)
// -------------------------------------------------------------------------------------------------

const b64url = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*={0,2}$/, 'base64url');

export const registrationSchema = z.looseObject({
  id: b64url(1400).min(1),
  rawId: b64url(1400).min(1),
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: b64url(8192).min(1),
    attestationObject: b64url(65_536).min(1),
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.string().max(32).optional(),
});

export const assertionSchema = z.looseObject({
  id: b64url(1400).min(1),
  rawId: b64url(1400).min(1),
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: b64url(8192).min(1),
    authenticatorData: b64url(8192).min(1),
    signature: b64url(2048).min(1),
    userHandle: b64url(128).nullish(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.string().max(32).nullish(),
});

/** A parsed assertion: the response as @simplewebauthn/server takes it, and the challenge its client data names. */
export type ParsedAssertion = { response: AuthenticationResponseJSON; challenge: string };

export function shapeError(field: string, error: z.ZodError): BadInputError {
  const issues = error.issues.map((i) => `${[field, ...i.path.map(String)].join('.')}: ${i.message}`);
  return new BadInputError(`${field}: not the JSON of a WebAuthn response (${issues.slice(0, 3).join('; ')})`, { field, reason: 'MALFORMED_WEBAUTHN_RESPONSE' });
}

/** The challenge named in a response's clientDataJSON, or a BAD_USER_INPUT naming the field. */
export function challengeOf(clientDataJSON: string, field: string): string {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    if (typeof data.challenge === 'string' && data.challenge.length > 0 && data.challenge.length <= 128) return data.challenge;
  } catch {
    // fall through
  }
  throw new BadInputError(`${field}.response.clientDataJSON: not WebAuthn client data with a challenge`, { field, reason: 'MALFORMED_WEBAUTHN_RESPONSE' });
}

/** Validates the shape of an assertion (fail fast, before any database work or rate-limit point). */
export function parseAssertion(value: unknown, field = 'assertion'): ParsedAssertion {
  const parsed = assertionSchema.safeParse(value);
  if (!parsed.success) throw shapeError(field, parsed.error);
  // Browsers send `userHandle: null` for non-discoverable credentials; the library wants it absent.
  const { userHandle, ...rest } = parsed.data.response;
  const response = { ...parsed.data, authenticatorAttachment: parsed.data.authenticatorAttachment ?? undefined, response: { ...rest, ...(userHandle ? { userHandle } : {}) } };
  return { response: response as unknown as AuthenticationResponseJSON, challenge: challengeOf(parsed.data.response.clientDataJSON, field) };
}

/** simplewebauthn reports what failed only in its error messages; these turn them into stable reasons (first match wins). */
const REFUSAL_MESSAGES: readonly [RegExp, PasskeyRefusal][] = [
  [/origin/i, 'WRONG_ORIGIN'],
  [/RP ID/i, 'WRONG_RP_ID'],
  [/response type/i, 'WRONG_CEREMONY'],
  [/challenge/i, 'WRONG_CHALLENGE'],
  [/verification (was )?required/i, 'USER_VERIFICATION_REQUIRED'],
  [/not present|presence/i, 'USER_PRESENCE_REQUIRED'],
  [/counter/i, 'COUNTER_REGRESSION'],
  [/alg/i, 'UNSUPPORTED_ALGORITHM'],
];

export function refusalOf(error: unknown): PasskeyRefusedError {
  const message = error instanceof Error ? error.message : String(error);
  const reason = REFUSAL_MESSAGES.find(([pattern]) => pattern.test(message))?.[1] ?? 'INVALID_RESPONSE';
  return new PasskeyRefusedError(reason, message.slice(0, 300));
}

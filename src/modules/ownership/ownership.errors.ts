import { AppError } from '../../errors/app-error.js';

/**
 * Why a passkey ceremony was refused, as `extensions.reason` next to `extensions.code`:
 * the challenge (unknown or already used, expired, issued for another act, unit or account), the
 * credential (unknown, another account's), or the WebAuthn checks themselves.
 */
export const PASSKEY_REFUSALS = [
  'CHALLENGE_NOT_FOUND',
  'CHALLENGE_EXPIRED',
  'WRONG_PURPOSE',
  'WRONG_PASSPORT',
  'WRONG_SESSION',
  'UNKNOWN_CREDENTIAL',
  'USER_HANDLE_MISMATCH',
  'WRONG_ORIGIN',
  'WRONG_RP_ID',
  'WRONG_CEREMONY',
  'WRONG_CHALLENGE',
  'USER_PRESENCE_REQUIRED',
  'USER_VERIFICATION_REQUIRED',
  'COUNTER_REGRESSION',
  'BAD_SIGNATURE',
  'UNSUPPORTED_ALGORITHM',
  'INVALID_RESPONSE',
] as const;
export type PasskeyRefusal = (typeof PASSKEY_REFUSALS)[number];

/** A passkey registration or assertion that does not prove what it must: UNAUTHENTICATED with a reason. */
export class PasskeyRefusedError extends AppError {
  constructor(
    readonly reason: PasskeyRefusal,
    message: string,
  ) {
    super('UNAUTHENTICATED', `Passkey refused: ${message}`, { reason });
  }
}

/** The assertion is valid but made with a passkey of another account than the signed-in one. */
export class ForeignCredentialError extends AppError {
  constructor() {
    super('FORBIDDEN', 'This passkey belongs to another account than the signed-in owner', { reason: 'CREDENTIAL_OF_ANOTHER_OWNER' });
  }
}

/** The signed-in owner does not (or no longer) own the unit. */
export class NotTheOwnerError extends AppError {
  constructor() {
    super('FORBIDDEN', 'Only the current owner of this unit may do this', { reason: 'NOT_THE_OWNER' });
  }
}

/** The owner session is too old for account changes (adding or removing passkeys): sign in again. */
export class FreshSignInRequiredError extends AppError {
  constructor(minutes: number) {
    super('FORBIDDEN', `Sign in again with a passkey (within the last ${minutes} minutes) to change passkeys`, { reason: 'FRESH_SIGN_IN_REQUIRED' });
  }
}

import { GraphQLJSON } from 'graphql-scalars';
import { Field, Float, ID, ObjectType, registerEnumType } from 'type-graphql';
import { ASSERTION_PURPOSES, type AssertionPurpose as AssertionPurposeValue } from './owner.entity.js';
import { OWNERSHIP_ACQUISITIONS } from './ownership.entity.js';
import type { OwnershipRecord } from './ownership.service.js';
import type { PasskeyRow } from './passkey.service.js';

const asEnum = <T extends readonly string[]>(values: T) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T[number]]: K };

export const AssertionPurpose = asEnum(ASSERTION_PURPOSES);
registerEnumType(AssertionPurpose, {
  name: 'AssertionPurpose',
  description: 'What a passkey assertion authorises; its challenge is bound to it (and, except SIGN_IN and DELETE_ACCOUNT, to one unit).',
});
export type { AssertionPurposeValue };

export const OwnershipAcquisition = asEnum(OWNERSHIP_ACQUISITIONS);
registerEnumType(OwnershipAcquisition, { name: 'OwnershipAcquisition', description: 'How an owner came to own a unit: CLAIM (claim code) or TRANSFER.' });

@ObjectType({ description: 'A WebAuthn ceremony to run in the browser: pass `options` to the WebAuthn API, answer with `sessionId`.' })
export class PasskeyChallenge {
  @Field(() => ID, { description: 'Names this challenge (finishPasskeyRegistration / finishPasskeyAuthentication take it back).' }) sessionId!: string;
  @Field(() => GraphQLJSON, {
    description:
      'PublicKeyCredentialCreationOptionsJSON (registration) or PublicKeyCredentialRequestOptionsJSON (authentication), as @simplewebauthn/server makes them: ' +
      'PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON, or @simplewebauthn/browser, take them as they are.',
  })
  options!: Record<string, unknown>;
  @Field(() => Date, { description: 'The challenge is refused after this (single use before it, too).' }) expiresAt!: Date;
}

@ObjectType({ description: 'A signed-in owner: send `Authorization: Bearer <token>`. The token is shown once.' })
export class OwnerSession {
  @Field(() => ID) ownerId!: string;
  @Field(() => String) token!: string;
  @Field(() => Date) expiresAt!: Date;
}

@ObjectType({ description: "A unit's owner over time. `ownerId` is shown only to that owner and to the unit's brand; authorities see that and since when a unit is owned." })
export class Ownership {
  @Field(() => ID) passportId!: string;
  @Field(() => ID, { nullable: true }) ownerId?: string | null;
  @Field(() => Date) since!: Date;
  @Field(() => Date, { nullable: true, description: 'When this ownership ended (a transfer); null while it lasts.' }) until?: Date | null;
  @Field(() => OwnershipAcquisition) acquiredVia!: string;

  static from(o: OwnershipRecord, showOwner: boolean): Ownership {
    return Object.assign(new Ownership(), { passportId: o.passportId, ownerId: showOwner ? o.ownerId : null, since: o.since, until: o.until, acquiredVia: o.acquiredVia });
  }
}

@ObjectType({ description: 'An open transfer offer. `code` is the one-time code for the recipient, shown here only.' })
export class TransferOffer {
  @Field(() => ID) id!: string;
  @Field(() => ID) passportId!: string;
  @Field(() => String) code!: string;
  @Field(() => Date) expiresAt!: Date;
}

@ObjectType('Passkey', { description: "One of the owner's passkeys (the public half only)." })
export class PasskeyType {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => [String]) transports!: string[];
  @Field(() => Boolean, { description: 'BE flag: a synced (multi-device) passkey.' }) backupEligible!: boolean;
  @Field(() => Boolean, { description: 'BS flag as last seen.' }) backedUp!: boolean;
  @Field(() => Float, { description: 'Signature counter last accepted (0 for authenticators that do not count).' }) signCount!: number;
  @Field(() => String) aaguid!: string;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) lastUsedAt?: Date | null;

  static from(r: PasskeyRow): PasskeyType {
    return Object.assign(new PasskeyType(), {
      id: r.id,
      name: r.name,
      transports: r.transports,
      backupEligible: r.backup_eligible,
      backedUp: r.backed_up,
      signCount: Number(r.counter),
      aaguid: r.aaguid,
      createdAt: new Date(r.created_at),
      lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
    });
  }
}

@ObjectType('Owner', { description: 'The signed-in consumer: only ever shown to that consumer.' })
export class OwnerType {
  @Field(() => ID) id!: string;
  @Field(() => String) displayName!: string;
  @Field(() => Date) createdAt!: Date;
}

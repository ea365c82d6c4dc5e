import { GraphQLJSON } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType, UseMiddleware } from 'type-graphql';
import { RequireTier } from './passport.access.js';
import { LIFECYCLE_EVENT_TYPES } from '../history/lifecycle-event.entity.js';
import { EventLogStatusType } from '../log/log.types.js';
import type { IPassport, PassportStatus as PassportStatusValue } from './passport.entity.js';

export enum PassportStatus {
  MINTED = 'MINTED',
  SIGNED = 'SIGNED',
  IN_SUPPLY_CHAIN = 'IN_SUPPLY_CHAIN',
  SOLD = 'SOLD',
  OWNED = 'OWNED',
  END_OF_LIFE = 'END_OF_LIFE',
  RECYCLED = 'RECYCLED',
  REVOKED = 'REVOKED',
}
registerEnumType(PassportStatus, { name: 'PassportStatus' });

export const LifecycleEventTypeEnum = Object.fromEntries(LIFECYCLE_EVENT_TYPES.map((t) => [t, t])) as Record<string, string>;
registerEnumType(LifecycleEventTypeEnum, { name: 'LifecycleEventType' });

export enum CredentialProfile {
  NATIVE = 'NATIVE',
  UNTP_DPP = 'UNTP_DPP',
}
registerEnumType(CredentialProfile, {
  name: 'CredentialProfile',
  description: 'Which vocabulary a passport credential uses.',
  valuesConfig: {
    NATIVE: { description: 'W3C VC 2.0 with this service\'s own terms.' },
    UNTP_DPP: { description: 'A UN Transparency Protocol 0.6.0 DigitalProductPassport.' },
  },
});

export enum CredentialSecuring {
  DATA_INTEGRITY = 'DATA_INTEGRITY',
  JOSE = 'JOSE',
}
registerEnumType(CredentialSecuring, {
  name: 'CredentialSecuring',
  description: 'How a credential is secured.',
  valuesConfig: {
    DATA_INTEGRITY: { description: 'An embedded eddsa-jcs-2022 Data Integrity proof.' },
    JOSE: { description: 'An EnvelopedVerifiableCredential whose id is data:application/vc+jwt,<compact JWS> (W3C VC-JOSE-COSE).' },
  },
});

@ObjectType({ description: 'An Ed25519 signature over the RFC 8785 form of the unit identity record.' })
export class Signature {
  @Field(() => String) kid!: string;
  @Field(() => String) algorithm!: string;
  @Field(() => String, { description: 'base64url, no padding.' }) value!: string;
}

@ObjectType('Passport', {
  description:
    'One manufactured unit: its GS1 identity, signature, status and history. Fields are tiered (see README, "Access tiers"): ' +
    'a field above the caller\'s tier answers FORBIDDEN, and reads by authorities above the public tier are audited.',
})
export class PassportType {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'GTIN-14.' }) gtin!: string;
  @Field(() => String) serial!: string;
  @Field(() => String, { nullable: true, description: 'Lot (GS1 AI 10); part of the Digital Link, so public.' }) lot?: string | null;
  @UseMiddleware(RequireTier('LEGITIMATE_INTEREST'))
  @Field(() => String, { nullable: true }) site?: string | null;
  @UseMiddleware(RequireTier('LEGITIMATE_INTEREST'))
  @Field(() => Date, { nullable: true }) manufacturedAt!: Date;
  @Field(() => String, { description: 'QR, NFC_SUN or QR_AND_NFC.' }) carrier!: string;
  @UseMiddleware(RequireTier('AUTHORITY'))
  @Field(() => [String], { nullable: true }) destinationMarkets!: string[];
  @Field(() => PassportStatus) status!: PassportStatusValue;
  @UseMiddleware(RequireTier('AUTHORITY'))
  @Field(() => ID, { nullable: true }) batchId!: string;
  @Field(() => ID) brandId!: string;
  @UseMiddleware(RequireTier('AUTHORITY'))
  @Field(() => String, { nullable: true, description: 'Hash of the newest history event.' }) headHash?: string | null;
  @UseMiddleware(RequireTier('AUTHORITY'))
  @Field(() => Date, { nullable: true }) createdAt!: Date;
  modelId!: string;
  entity!: IPassport;

  static from(p: IPassport): PassportType {
    return Object.assign(new PassportType(), {
      id: p.id,
      gtin: p.gtin,
      serial: p.serial,
      lot: p.lot ?? null,
      site: p.site ?? null,
      manufacturedAt: p.manufacturedAt,
      carrier: p.carrier,
      destinationMarkets: p.destinationMarkets,
      status: p.status,
      batchId: p.batch.id,
      brandId: p.brand.id,
      headHash: p.headHash ?? null,
      createdAt: p.createdAt,
      modelId: p.model.id,
      entity: p,
    });
  }
}

@ObjectType({ description: 'One unit of a mint: `claimCode` goes inside the packaging and is never shown by any other query.' })
export class MintedPassport {
  @Field(() => ID) id!: string;
  @Field(() => String) serial!: string;
  @Field(() => String) sgtinUri!: string;
  @Field(() => String) digitalLink!: string;
  @Field(() => String) claimCode!: string;
}

@ObjectType()
export class MintBatch {
  @Field(() => ID) id!: string;
  @Field(() => Boolean, { description: 'True when this answers a retry of an earlier request with the same idempotency key.' }) replayed!: boolean;
  @Field(() => [MintedPassport]) passports!: MintedPassport[];
}

@InputType()
export class MintInput {
  @Field(() => String) gtin!: string;
  @Field(() => Int) quantity!: number;
  @Field(() => String, { nullable: true }) lot?: string | null;
  @Field(() => String, { nullable: true, description: "Free text naming where the units were made (at most 200 characters); with siteId, the site's identifier." })
  site?: string | null;
  @Field(() => ID, {
    nullable: true,
    description: "One of the brand's registered manufacturing sites (registerManufacturingSite): a battery's manufacturingPlace is its address. Another brand's site: NOT_FOUND.",
  })
  siteId?: string | null;
  @Field(() => String, { nullable: true, description: 'QR (default), NFC_SUN or QR_AND_NFC.' }) carrier?: string | null;
  @Field(() => [String], { nullable: true }) destinationMarkets?: string[] | null;
  @Field(() => Date, { nullable: true, description: 'Defaults to now.' }) manufacturedAt?: Date | null;
  @Field(() => String, { description: 'A retry with the same key answers the same batch.' }) idempotencyKey!: string;
  @Field(() => Boolean, {
    nullable: true,
    description: "Also sign every unit with the brand's ACTIVE key in the same transaction (MINTED and SIGNED events; Digital Links carry ?sig=).",
  })
  sign?: boolean | null;
  @Field(() => [Float], {
    nullable: true,
    description: "Battery models only: each unit's own weight in kg (Battery Pass `batteryMass`), one per unit in mint order; omitted, units show the model's.",
  })
  batteryMasses?: number[] | null;
}

@InputType()
export class SignInput {
  @Field(() => ID, { nullable: true }) batchId?: string | null;
  @Field(() => [ID], { nullable: true }) passportIds?: string[] | null;
}

@ObjectType()
export class SignResult {
  @Field(() => Int, { description: 'Units newly signed by this call (already signed ones are skipped).' }) signed!: number;
  @Field(() => String) kid!: string;
}

@InputType()
export class PassportFilter {
  @Field(() => String, { nullable: true }) gtin?: string | null;
  @Field(() => String, { nullable: true }) lot?: string | null;
  @Field(() => PassportStatus, { nullable: true }) status?: PassportStatusValue | null;
  @Field(() => ID, { nullable: true }) batchId?: string | null;
  @Field(() => ID, { nullable: true, description: 'Authorities, recyclers and the platform: one brand only. A brand may name only itself (another brand: FORBIDDEN).' }) brandId?: string | null;
  @Field(() => Date, { nullable: true, description: 'Manufactured at or after.' }) manufacturedFrom?: Date | null;
  @Field(() => Date, { nullable: true, description: 'Manufactured before.' }) manufacturedTo?: Date | null;
  @Field(() => Date, { nullable: true, description: 'Changed (history appended) at or after.' }) updatedSince?: Date | null;
}

@ObjectType({ description: 'The result of recomputing a passport\'s hash chain.' })
export class HistoryVerification {
  @Field(() => Boolean) valid!: boolean;
  @Field(() => Int) length!: number;
  @Field(() => String, { nullable: true }) headHash?: string | null;
  @Field(() => Int, { nullable: true, description: 'The first sequence number whose event or link does not verify.' }) firstBrokenSeq?: number | null;
  @Field(() => String, { nullable: true }) reason?: string | null;
  @Field(() => Int, { nullable: true, description: 'Tree size of the transparency-log checkpoint the events were checked against.' }) logTreeSize?: number | null;
  @Field(() => [EventLogStatusType], { description: 'Per event, oldest first: whether it is in the transparency log under that checkpoint.' }) log!: EventLogStatusType[];
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor?: string | null;
}

@ObjectType()
export class PassportEdge {
  @Field(() => String) cursor!: string;
  @Field(() => PassportType) node!: PassportType;
}

@ObjectType()
export class PassportConnection {
  @Field(() => [PassportEdge]) edges!: PassportEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType('LifecycleEvent', { description: 'One append-only, hash-chained history event.' })
export class LifecycleEventType {
  @Field(() => ID) id!: string;
  @Field(() => ID) passportId!: string;
  @Field(() => Int) seq!: number;
  @Field(() => LifecycleEventTypeEnum) type!: string;
  @Field(() => Date) occurredAt!: Date;
  @Field(() => Date) recordedAt!: Date;
  @Field(() => ID, { nullable: true }) actorId?: string | null;
  @Field(() => GraphQLJSON) payload!: Record<string, unknown>;
  @Field(() => String, { nullable: true }) prevHash?: string | null;
  @Field(() => String, { description: 'sha256 of the RFC 8785 form of the event without this field, hex.' }) hash!: string;

  static from(e: Omit<LifecycleEventType, never>): LifecycleEventType {
    const { id, passportId, seq, type, occurredAt, recordedAt, actorId, payload, prevHash, hash } = e;
    return Object.assign(new LifecycleEventType(), { id, passportId, seq, type, occurredAt, recordedAt, actorId, payload, prevHash, hash });
  }
}

@ObjectType()
export class LifecycleEventEdge {
  @Field(() => String) cursor!: string;
  @Field(() => LifecycleEventType) node!: LifecycleEventType;
}

@ObjectType()
export class LifecycleEventConnection {
  @Field(() => [LifecycleEventEdge]) edges!: LifecycleEventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

import { Field, Float, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from '../passports/passport.types.js';
import { WARRANTY_CLAIM_STATUSES, type WarrantyClaimStatus as WarrantyClaimStatusValue } from './warranty-claim.entity.js';
import { WARRANTY_DECISIONS, type WarrantyClaimRecord, type WarrantyDecision as WarrantyDecisionValue } from './warranty.service.js';

const asEnum = <T extends readonly string[]>(values: T) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T[number]]: K };
export const WarrantyClaimStatus = asEnum(WARRANTY_CLAIM_STATUSES);
export const WarrantyDecision = asEnum(WARRANTY_DECISIONS);
registerEnumType(WarrantyClaimStatus, { name: 'WarrantyClaimStatus' });
registerEnumType(WarrantyDecision, { name: 'WarrantyDecision' });

@InputType()
export class WarrantyClaimInput {
  @Field(() => ID) passportId!: string;
  @Field(() => String, { description: 'What is wrong, in the owner\'s words (1 to 2000 characters).' }) issue!: string;
}

@ObjectType('WarrantyClaim', { description: 'A warranty claim with its fraud assessment; seen by its claimant and the unit\'s brand.' })
export class WarrantyClaimType {
  @Field(() => ID) id!: string;
  @Field(() => ID) passportId!: string;
  @Field(() => String, { description: 'OPEN, APPROVED or REJECTED.' }) status!: WarrantyClaimStatusValue;
  @Field(() => Float, { description: '0 to 100: the sum of the weights of the signals that fired (README, "Warranty claims").' }) riskScore!: number;
  @Field(() => [String], { description: 'The signals that fired, e.g. OUTSIDE_WARRANTY, RECENT_OWNERSHIP.' }) reasons!: string[];
  @Field(() => String) issue!: string;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) decidedAt?: Date | null;
  @Field(() => String, { nullable: true }) decisionNote?: string | null;
  record!: WarrantyClaimRecord;

  static from(c: WarrantyClaimRecord): WarrantyClaimType {
    return Object.assign(new WarrantyClaimType(), {
      id: c.id,
      passportId: c.passportId,
      status: c.status,
      riskScore: c.riskScore,
      reasons: c.reasons,
      issue: c.issue,
      createdAt: c.createdAt,
      decidedAt: c.decidedAt,
      decisionNote: c.decisionNote,
      record: c,
    });
  }
}

@InputType()
export class WarrantyClaimFilter {
  @Field(() => WarrantyClaimStatus, { nullable: true }) status?: WarrantyClaimStatusValue | null;
  @Field(() => ID, { nullable: true }) passportId?: string | null;
  @Field(() => Float, { nullable: true, description: 'Claims scoring at least this.' }) minRiskScore?: number | null;
}

@ObjectType()
export class WarrantyClaimEdge {
  @Field(() => String) cursor!: string;
  @Field(() => WarrantyClaimType) node!: WarrantyClaimType;
}

@ObjectType()
export class WarrantyClaimConnection {
  @Field(() => [WarrantyClaimEdge]) edges!: WarrantyClaimEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

export type { WarrantyDecisionValue };

import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import type { IServiceAuthorization, IServiceRecord } from './service.entity.js';

@ObjectType('ServiceAuthorization', { description: "A brand's authorisation of a SERVICE_PARTNER organisation to record service on its units." })
export class ServiceAuthorizationType {
  @Field(() => ID) id!: string;
  @Field(() => ID) brandId!: string;
  @Field(() => ID) partnerId!: string;
  @Field(() => Boolean, { description: 'False once revoked.' }) active!: boolean;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) revokedAt?: Date | null;

  static from(a: IServiceAuthorization): ServiceAuthorizationType {
    return Object.assign(new ServiceAuthorizationType(), {
      id: a.id,
      brandId: a.brand.id,
      partnerId: a.partner.id,
      active: !a.revokedAt,
      createdAt: a.createdAt,
      revokedAt: a.revokedAt ?? null,
    });
  }
}

@ObjectType('ServiceRecord', { description: 'One repair or service of a unit by an authorised service partner.' })
export class ServiceRecordType {
  @Field(() => ID) id!: string;
  @Field(() => ID) passportId!: string;
  @Field(() => ID) partnerId!: string;
  @Field(() => String) workDone!: string;
  @Field(() => GraphQLJSON, { description: '[{ passportId?, gtin?, description, quantity }]: serialised parts by their own passport ids.' })
  parts!: Record<string, unknown>[];
  @Field(() => Date) performedAt!: Date;
  @Field(() => Int, { description: 'Sequence number of the SERVICED event in the unit history.' }) eventSeq!: number;
  @Field(() => Date) createdAt!: Date;

  static from(r: IServiceRecord): ServiceRecordType {
    return Object.assign(new ServiceRecordType(), {
      id: r.id,
      passportId: r.passport.id,
      partnerId: r.partner.id,
      workDone: r.workDone,
      parts: r.parts,
      performedAt: r.performedAt,
      eventSeq: r.eventSeq,
      createdAt: r.createdAt,
    });
  }
}

@InputType({ description: 'A part fitted during service: a serialised unit by its passport id, or a GTIN and/or description.' })
export class ServicePartInput {
  @Field(() => ID, { nullable: true, description: "The part's own passport, when it is serialised: a unit of the same brand, not recycled, end-of-life or revoked." })
  passportId?: string | null;
  @Field(() => String, { nullable: true }) gtin?: string | null;
  @Field(() => String) description!: string;
  @Field(() => Int, { nullable: true, description: '1 to 1000, default 1 (always 1 for a serialised part).' }) quantity?: number | null;
}

@InputType()
export class ServiceRecordInput {
  @Field(() => ID) passportId!: string;
  @Field(() => String, { description: '1 to 2000 characters; no personal data.' }) workDone!: string;
  @Field(() => Date, { nullable: true, description: 'Defaults to now; not in the future.' }) performedAt?: Date | null;
  @Field(() => [ServicePartInput], { nullable: true, description: 'At most 50.' }) parts?: ServicePartInput[] | null;
}

import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

@InputType({ description: 'One EPCIS 2.0 ObjectEvent (action OBSERVE) about one or more passports.' })
export class CustodyEventInput {
  @Field(() => [ID], { description: '1 to 1,000 passport ids; repeated ids count once.' }) passportIds!: string[];
  @Field(() => String, { description: 'CBV 2.0 business step: shipping, receiving, retail_selling, … (bare, urn:epcglobal:cbv:bizstep: or https://ref.gs1.org/cbv/BizStep- form), or a user-defined URI outside the CBV namespaces.' })
  bizStep!: string;
  @Field(() => String, { nullable: true, description: 'CBV 2.0 disposition, e.g. in_transit.' }) disposition?: string | null;
  @Field(() => String, { nullable: true, description: 'Where the event was observed: a URI such as urn:epc:id:sgln:…; at most 500 characters.' })
  readPoint?: string | null;
  @Field(() => String, { nullable: true, description: 'Where the units are now: a URI such as urn:epc:id:sgln:…; at most 500 characters.' })
  bizLocation?: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2 country of the event.' }) country?: string | null;
  @Field(() => Date, { nullable: true, description: "When it happened; defaults to now; not before a listed unit's manufacture, at most 5 minutes ahead." }) eventTime?: Date | null;
}

@ObjectType({ description: 'The outcome of an EPCIS capture.' })
export class CaptureResult {
  @Field(() => ID) captureId!: string;
  @Field(() => Int, { description: 'Events of the document written to passport histories.' }) accepted!: number;
  @Field(() => Int, { description: 'Events skipped because their eventID had been captured before.' }) duplicates!: number;
  @Field(() => Boolean, { description: 'True when this answers a retry under the same idempotency key.' }) replayed!: boolean;
}

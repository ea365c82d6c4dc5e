import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { PassportType } from '../passports/passport.types.js';

export enum BatteryCategory {
  EV = 'EV',
  LMT = 'LMT',
  INDUSTRIAL = 'INDUSTRIAL',
  STATIONARY_STORAGE = 'STATIONARY_STORAGE',
  PORTABLE = 'PORTABLE',
  SLI = 'SLI',
}
registerEnumType(BatteryCategory, {
  name: 'BatteryCategory',
  description: 'Battery Regulation categories. Only EV, LMT and industrial batteries (STATIONARY_STORAGE included) have a battery passport (Art. 77(1)); PORTABLE and SLI are refused.',
});

export enum BatteryStatus {
  ORIGINAL = 'ORIGINAL',
  REPURPOSED = 'REPURPOSED',
  REUSED = 'REUSED',
  REMANUFACTURED = 'REMANUFACTURED',
  WASTE = 'WASTE',
}
registerEnumType(BatteryStatus, { name: 'BatteryStatus', description: 'Annex XIII 4(c): the status of an individual battery.' });

@InputType({ description: 'The battery data of a product model (Battery Pass data model 1.2.0).' })
export class BatteryModelInput {
  @Field(() => BatteryCategory) category!: BatteryCategory;
  @Field(() => GraphQLJSON, {
    description:
      'Model-level attributes in the Battery Pass 1.2.0 property names, one object per aspect: generalProductInformation (manufacturerInformation, ' +
      'operatorInformation, manufacturingPlace, batteryMass, warrentyPeriod), carbonFootprint, circularity, materialComposition, ' +
      'performance.batteryTechicalProperties, labeling, supplyChainDueDiligence; each valid against its schema. Per-battery attributes are filled by the passport.',
  })
  data!: unknown;
}

@InputType({ description: "A battery's dynamic condition (Battery Pass `batteryCondition`, validated against the Performance schema)." })
export class BatteryConditionInput {
  @Field(() => ID) passportId!: string;
  @Field(() => GraphQLJSON) condition!: unknown;
}

@InputType({ description: 'A change of a battery\'s status (Art. 77(7); Annex XIII 4(c)).' })
export class RepurposeBatteryInput {
  @Field(() => ID) passportId!: string;
  @Field(() => BatteryStatus, { description: 'REPURPOSED or REMANUFACTURED (a new linked passport), REUSED, or WASTE (end of life, by a recycler).' })
  newStatus!: BatteryStatus;
  @Field(() => String, { nullable: true, description: "REPURPOSED/REMANUFACTURED: the GTIN of the operator's own battery model for the new battery." })
  gtin?: string | null;
  @Field(() => String, { nullable: true, description: 'At most 500 characters.' }) reason?: string | null;
}

@ObjectType({ description: 'The outcome of repurposeBattery.' })
export class BatteryStatusChange {
  @Field(() => BatteryStatus) status!: BatteryStatus;
  @Field(() => PassportType, { description: 'The original battery, whose status changed.' }) original!: PassportType;
  @Field(() => PassportType, { nullable: true, description: 'The new battery\'s passport (REPURPOSED, REMANUFACTURED), under the operator.' })
  successor?: PassportType | null;
}

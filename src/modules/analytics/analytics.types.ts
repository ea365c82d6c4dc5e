import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';

@InputType({ description: 'A period of at most 366 days, `from` inclusive, `to` exclusive; optionally one GTIN, and (authorities only) one brand.' })
export class AnalyticsFilter {
  @Field(() => Date) from!: Date;
  @Field(() => Date) to!: Date;
  @Field(() => String, { nullable: true }) gtin?: string | null;
  @Field(() => ID, { nullable: true, description: 'REGULATOR, CUSTOMS and PLATFORM only; a brand always sees its own.' }) brandId?: string | null;
}

@ObjectType({ description: 'One group of an aggregate: its key and how many fell in it.' })
export class Bucket {
  @Field(() => String) key!: string;
  @Field(() => Int) count!: number;
}

@ObjectType({ description: 'A unit ranked by the alerts it raised in the period.' })
export class RiskUnit {
  @Field(() => ID) passportId!: string;
  @Field(() => String) gtin!: string;
  @Field(() => String) serial!: string;
  @Field(() => Float, {
    description: 'Sum over the unit\'s alerts active in the period of severity weight (LOW 1, MEDIUM 3, HIGH 7, CRITICAL 15) × the alert\'s count.',
  })
  riskScore!: number;
  @Field(() => Int, { description: 'Alerts on the unit active in the period.' }) alerts!: number;
  @Field(() => Date, { nullable: true }) lastAlertAt?: Date | null;
}

@ObjectType({
  description:
    'Scans and alerts over a period. Scans count by `scannedAt` in [from, to); alerts count once each (not by firings) when active in the period ' +
    '(first firing before `to`, last firing at or after `from`). A missing country is the key `unknown`.',
})
export class ScanAnalytics {
  @Field(() => Date) from!: Date;
  @Field(() => Date) to!: Date;
  @Field(() => Int) totalScans!: number;
  @Field(() => [Bucket], { description: 'By verdict, most first.' }) byVerdict!: Bucket[];
  @Field(() => [Bucket], { description: 'By ISO country of the scan, most first.' }) scansByCountry!: Bucket[];
  @Field(() => [Bucket], { description: 'By UTC day (YYYY-MM-DD), oldest first; days without scans are left out.' }) scansByDay!: Bucket[];
  @Field(() => [Bucket], { description: 'By GTIN, most first; the top 100.' }) scansByGtin!: Bucket[];
  @Field(() => [Bucket], { description: 'Alerts by kind, most first.' }) alertsByKind!: Bucket[];
  @Field(() => [Bucket], {
    description: 'Alerts by the country of the latest scan in the period of their unit (or, for unknown serials, of their GTIN\'s unknown serials).',
  })
  alertsByCountry!: Bucket[];
  @Field(() => [RiskUnit], { description: 'The 10 units with the highest risk score.' }) topUnitsByRisk!: RiskUnit[];
}

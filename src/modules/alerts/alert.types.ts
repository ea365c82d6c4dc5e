
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from '../passports/passport.types.js';
import type { AlertMessage } from './alert-bus.js';
import { ALERT_KINDS, ALERT_STATUSES, type IFraudAlert, SEVERITIES } from './fraud-alert.entity.js';

const asEnum = <T extends readonly string[]>(values: T) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T[number]]: K };
export const AlertKind = asEnum(ALERT_KINDS);
export const Severity = asEnum(SEVERITIES);
export const AlertStatus = asEnum(ALERT_STATUSES);
registerEnumType(AlertKind, {
  name: 'AlertKind',
  valuesConfig: { WEBHOOK_ENDPOINT_DISABLED: { description: "One of the brand's webhook endpoints was disabled (410 Gone, or a delivery failed after every retry); evidence names it and why." } },
});
registerEnumType(Severity, { name: 'Severity' });
registerEnumType(AlertStatus, { name: 'AlertStatus' });

@ObjectType('FraudAlert', {
  description:
    'A suspicious pattern on a unit (or a GTIN, for unknown serials); repeated firings grow `count`. Operational kinds (WEBHOOK_ENDPOINT_DISABLED) concern no product: no passportId, no gtin, and only the brand sees them.',
})
export class FraudAlertType {
  @Field(() => ID) id!: string;
  @Field(() => AlertKind) kind!: string;
  @Field(() => Severity) severity!: string;
  @Field(() => AlertStatus) status!: string;
  @Field(() => ID, { nullable: true }) passportId?: string | null;
  @Field(() => String, { nullable: true }) gtin?: string | null;
  @Field(() => Int) count!: number;
  @Field(() => Date, { description: 'First firing.' }) createdAt!: Date;
  @Field(() => Date) lastSeenAt!: Date;
  @Field(() => Date, { nullable: true }) acknowledgedAt?: Date | null;
  brandId!: string;
  evidenceData!: Record<string, unknown>;

  static from(a: IFraudAlert): FraudAlertType {
    return Object.assign(new FraudAlertType(), {
      id: a.id,
      kind: a.kind,
      severity: a.severity,
      status: a.status,
      passportId: a.passport?.id ?? null,
      gtin: a.gtin,
      count: a.count,
      createdAt: a.firstSeenAt,
      lastSeenAt: a.lastSeenAt,
      acknowledgedAt: a.acknowledgedAt ?? null,
      brandId: a.brand.id,
      evidenceData: a.evidence,
    });
  }

  /** An alert as plain data: as a scan answers it, or as the bus delivers it (never acknowledged yet). */
  static fromMessage(m: AlertMessage): FraudAlertType {
    return Object.assign(new FraudAlertType(), {
      id: m.id,
      kind: m.kind,
      severity: m.severity,
      status: m.status,
      passportId: m.passportId,
      gtin: m.gtin,
      count: m.count,
      createdAt: new Date(m.firstSeenAt),
      lastSeenAt: new Date(m.lastSeenAt),
      acknowledgedAt: null,
      brandId: m.brandId,
      evidenceData: m.evidence,
    });
  }
}

@InputType()
export class AlertFilter {
  @Field(() => String, { nullable: true }) gtin?: string | null;
  @Field(() => AlertKind, { nullable: true }) kind?: string | null;
  @Field(() => Severity, { nullable: true }) severity?: string | null;
  @Field(() => AlertStatus, { nullable: true }) status?: string | null;
  @Field(() => Date, { nullable: true, description: 'Alerts that fired at or after this time.' }) since?: Date | null;
}

@ObjectType()
export class FraudAlertEdge {
  @Field(() => String) cursor!: string;
  @Field(() => FraudAlertType) node!: FraudAlertType;
}

@ObjectType()
export class FraudAlertConnection {
  @Field(() => [FraudAlertEdge]) edges!: FraudAlertEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}


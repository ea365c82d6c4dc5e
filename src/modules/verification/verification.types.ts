import { Field, Float, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { AlertKind, FraudAlertType } from '../alerts/alert.types.js';
import { NfcSunInput } from '../nfc-tags/nfc-tag.types.js';
import { PassportStatus } from '../passports/passport.types.js';
import { ProductModelType } from '../product-models/product-model.types.js';
import { VERDICTS } from './scan-event.entity.js';

export const Verdict = Object.fromEntries(VERDICTS.map((v) => [v, v])) as { [K in (typeof VERDICTS)[number]]: K };
registerEnumType(Verdict, { name: 'Verdict' });

@InputType()
export class ScanInput {
  @Field(() => String, { nullable: true, description: 'The GS1 Digital Link as scanned; may carry ?sig=.' }) digitalLink?: string | null;
  @Field(() => String, { nullable: true }) gtin?: string | null;
  @Field(() => String, { nullable: true }) serial?: string | null;
  @Field(() => Float, { nullable: true }) latitude?: number | null;
  @Field(() => Float, { nullable: true }) longitude?: number | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2.' }) country?: string | null;
  @Field(() => String, { nullable: true, description: 'Stored only as a keyed hash.' }) deviceId?: string | null;
  @Field(() => NfcSunInput, { nullable: true, description: 'An NFC SUN tap (also read from picc_data and cmac in digitalLink).' }) nfc?: NfcSunInput | null;
  @Field(() => Date, { nullable: true, description: 'Defaults to now; accepted only from organisation callers.' }) at?: Date | null;
}

@ObjectType({ description: 'What anyone may see of a unit when scanning it.' })
export class PublicPassport {
  @Field(() => String) gtin!: string;
  @Field(() => String) serial!: string;
  @Field(() => String, { nullable: true }) lot?: string | null;
  @Field(() => PassportStatus) status!: string;
  @Field(() => String) digitalLink!: string;
  @Field(() => String) brandName!: string;
  @Field(() => ProductModelType) model!: ProductModelType;
}

@ObjectType()
export class Verification {
  @Field(() => Verdict) verdict!: string;
  @Field(() => [String], { description: 'Short sentences a consumer can read, the deciding one first.' }) reasons!: string[];
  @Field(() => PublicPassport, { nullable: true }) passport?: PublicPassport | null;
  @Field(() => [FraudAlertType], { description: 'Alerts this scan raised or grew.' }) alerts!: FraudAlertType[];
  @Field(() => Date) scannedAt!: Date;
  @Field(() => [AlertKind], { description: 'Rules not applied because the model records scans MINIMAL (they need where scans were made); empty otherwise.' })
  rulesNotApplied!: string[];
}

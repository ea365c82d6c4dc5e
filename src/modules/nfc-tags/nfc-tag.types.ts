import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import type { NfcProvisioning } from './nfc-tag.service.js';

@InputType({ description: 'The two values an NTAG 424 DNA SUN tap mirrors into its URL (`picc_data` / `e` and `cmac` / `c`).' })
export class NfcSunInput {
  @Field(() => String, { description: 'Encrypted PICC data: 32 hexadecimal characters.' }) piccData!: string;
  @Field(() => String, { description: 'Truncated SDMMAC: 16 hexadecimal characters.' }) cmac!: string;
}

@ObjectType({
  description:
    'What a tag-programming station needs for one tag, returned only to the unit\'s brand. Keys are AES-128 in hex, derived ' +
    '(not stored) from the server master key; configure SDM with UID and read-counter mirroring (PICCDataTag 0xC7) encrypted ' +
    'under sdmMetaReadKey at the picc_data placeholder of sunUrl, and the SDMMAC under sdmFileReadKey at the cmac placeholder ' +
    'with SDMMACInputOffset = SDMMACOffset (empty MAC input).',
})
export class NfcTagProvisioning {
  @Field(() => ID) passportId!: string;
  @Field(() => String, { description: 'The tag UID, 14 upper-case hexadecimal characters.' }) uid!: string;
  @Field(() => String, { description: "The brand's SDMMetaReadKey (the same for all its tags)." }) sdmMetaReadKey!: string;
  @Field(() => String, { description: "This tag's SDMFileReadKey (SDMMAC key), diversified by its UID." }) sdmFileReadKey!: string;
  @Field(() => String, { description: "The unit's Digital Link with zeroed picc_data and cmac placeholders: the NDEF URL to write." }) sunUrl!: string;
  @Field(() => Int, { nullable: true, description: 'The last accepted read counter; null until the first valid tap.' }) lastCounter?: number | null;
  @Field(() => Date) provisionedAt!: Date;
  @Field(() => Boolean, { description: 'False when this tag was already bound to this unit (a retry).' }) created!: boolean;

  static from(p: NfcProvisioning): NfcTagProvisioning {
    return Object.assign(new NfcTagProvisioning(), p);
  }
}

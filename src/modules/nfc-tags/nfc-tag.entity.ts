import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { v7 as uuidv7 } from 'uuid';
import { Organization } from '../organizations/organization.entity.js';
import { Passport } from '../passports/passport.entity.js';

/**
 * An NTAG 424 DNA tag bound to one unit by its brand, and the last SUN read counter accepted for it.
 * A UID is unique within a brand (it only means something under that brand's keys); a unit has at most
 * one tag. No key is stored: the tag's keys are derived from the server master key on demand.
 */
export const NfcTag = defineEntity({
  name: 'NfcTag',
  tableName: 'nfc_tag',
  uniques: [
    { name: 'nfc_tag_brand_uid_unique', properties: ['brand', 'uid'] },
    { name: 'nfc_tag_passport_unique', properties: ['passport'] },
  ],
  properties: {
    id: p.uuid().primary().onCreate(() => uuidv7()),
    brand: () => p.manyToOne(Organization).ref(),
    passport: () => p.manyToOne(Passport).ref(),
    /** The 7-byte UID as 14 upper-case hex characters, as the tag mirrors it. */
    uid: p.string().length(14),
    /** The highest SDMReadCtr accepted from a valid tap of this unit; null until the first one. */
    lastCounter: p.integer().nullable(),
    lastReadAt: p.datetime().nullable(),
    provisionedAt: p.datetime().onCreate(() => new Date()),
    /** The API key that bound the tag. */
    provisionedBy: p.uuid(),
  },
});
export type INfcTag = InferEntity<typeof NfcTag>;

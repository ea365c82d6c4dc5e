import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { Access } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { nfcTagService } from './nfc-tag.service.js';
import { NfcTagProvisioning } from './nfc-tag.types.js';

@Resolver()
export class NfcTagResolver {
  @Access('BRAND')
  @Mutation(() => NfcTagProvisioning, {
    description:
      "Binds an NTAG 424 DNA tag (by UID) to one of the brand's units minted with an NFC carrier, and answers the tag's SDM keys " +
      'and NDEF URL for the programming station. Idempotent for the same tag and unit; a tag or unit already bound otherwise is a CONFLICT.',
  })
  async provisionNfcTag(@Ctx() ctx: Context, @Arg('passportId', () => ID) passportId: string, @Arg('uid', () => String) uid: string): Promise<NfcTagProvisioning> {
    return NfcTagProvisioning.from(await nfcTagService.provision(ctx, passportId, uid));
  }
}

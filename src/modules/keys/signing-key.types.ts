import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { fromBase64Url, publicKeyToJwk } from '../../crypto/index.js';
import type { ISigningKey } from './signing-key.entity.js';

export enum SigningKeyStatus {
  ACTIVE = 'ACTIVE',
  RETIRED = 'RETIRED',
  REVOKED = 'REVOKED',
}
registerEnumType(SigningKeyStatus, {
  name: 'SigningKeyStatus',
  description: 'ACTIVE signs new passports; RETIRED still verifies what it signed; REVOKED verifies nothing.',
  valuesConfig: {
    ACTIVE: { description: 'The one key that signs new passports of its brand.' },
    RETIRED: { description: 'Replaced by a rotation; still published, so what it signed keeps verifying.' },
    REVOKED: { description: 'Withdrawn (for example compromised); no longer published, its signatures fail.' },
  },
});

@ObjectType('SigningKey', { description: "A brand's Ed25519 signing key; only the public half is ever shown." })
export class SigningKeyType {
  @Field(() => ID, { description: 'RFC 7638 JWK thumbprint; the `kid` in JWKS and the DID verification method fragment.' })
  kid!: string;
  @Field(() => SigningKeyStatus) status!: SigningKeyStatus;
  @Field(() => String, { description: 'Always Ed25519.' }) algorithm!: string;
  @Field(() => GraphQLJSON, { description: 'The public key as a JWK (RFC 8037), as published at /.well-known/jwks.json.' })
  publicKeyJwk!: Record<string, unknown>;
  @Field(() => ID) brandId!: string;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) retiredAt?: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt?: Date | null;
  @Field(() => String, { nullable: true }) revocationReason?: string | null;

  static from(k: ISigningKey): SigningKeyType {
    return Object.assign(new SigningKeyType(), {
      kid: k.kid,
      status: k.status as SigningKeyStatus,
      algorithm: k.algorithm,
      publicKeyJwk: publicKeyToJwk(fromBase64Url(k.publicKey), k.kid),
      brandId: k.brand.id,
      createdAt: k.createdAt,
      retiredAt: k.retiredAt ?? null,
      revokedAt: k.revokedAt ?? null,
      revocationReason: k.revocationReason ?? null,
    });
  }
}

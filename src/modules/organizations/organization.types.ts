import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import type { IApiKey, IOrganization, OrgKind as OrgKindValue } from './organization.entity.js';

export enum OrgKind {
  PLATFORM = 'PLATFORM',
  BRAND = 'BRAND',
  RETAILER = 'RETAILER',
  DISTRIBUTOR = 'DISTRIBUTOR',
  REGULATOR = 'REGULATOR',
  CUSTOMS = 'CUSTOMS',
  RECYCLER = 'RECYCLER',
  SERVICE_PARTNER = 'SERVICE_PARTNER',
}
registerEnumType(OrgKind, { name: 'OrgKind', description: 'What an organisation is; decides what it may see and do.' });

export enum ViewerKind {
  ANONYMOUS = 'ANONYMOUS',
  ORGANIZATION = 'ORGANIZATION',
  OWNER = 'OWNER',
}
registerEnumType(ViewerKind, { name: 'ViewerKind' });

@ObjectType('Organization', { description: 'A company or authority using the platform.' })
export class OrganizationType {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => OrgKind) kind!: OrgKind;
  @Field(() => [String], { description: 'GS1 company prefixes: of a brand, or of a service partner that repurposes or remanufactures batteries.' }) gs1CompanyPrefixes!: string[];
  @Field(() => [String], { description: 'ISO 3166-1 alpha-2 markets.' }) markets!: string[];
  @Field(() => Date) createdAt!: Date;

  static from(o: IOrganization): OrganizationType {
    return Object.assign(new OrganizationType(), {
      id: o.id,
      name: o.name,
      kind: o.kind as OrgKind,
      gs1CompanyPrefixes: o.gs1CompanyPrefixes,
      markets: o.markets,
      createdAt: o.createdAt,
    });
  }
}

@ObjectType('ApiKey', { description: 'An API key; the secret itself is never shown again after creation.' })
export class ApiKeyType {
  @Field(() => ID) id!: string;
  @Field(() => String) label!: string;
  @Field(() => String, { description: 'The first characters of the secret, to tell keys apart.' }) hint!: string;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) revokedAt?: Date | null;

  static from(k: IApiKey): ApiKeyType {
    return Object.assign(new ApiKeyType(), { id: k.id, label: k.label, hint: k.hint, createdAt: k.createdAt, revokedAt: k.revokedAt ?? null });
  }
}

@ObjectType({ description: 'Returned once by createApiKey: `secret` is the bearer token.' })
export class CreatedApiKey {
  @Field(() => ID) id!: string;
  @Field(() => String) secret!: string;
  @Field(() => ApiKeyType) key!: ApiKeyType;
}

@ObjectType({ description: 'Who the caller is.' })
export class Viewer {
  @Field(() => ViewerKind) kind!: ViewerKind;
  @Field(() => OrganizationType, { nullable: true }) organization?: OrganizationType | null;
  @Field(() => ID, { nullable: true }) apiKeyId?: string | null;
  /** Set for an owner session; `Viewer.owner` resolves it (ownership feature). */
  ownerId?: string;
}

@InputType()
export class OrganizationInput {
  @Field(() => String) name!: string;
  @Field(() => OrgKind) kind!: OrgKindValue;
  @Field(() => [String], { nullable: true }) gs1CompanyPrefixes?: string[] | null;
  @Field(() => [String], { nullable: true }) markets?: string[] | null;
}

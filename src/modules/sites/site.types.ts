import { Field, ID, InputType, ObjectType } from 'type-graphql';
import type { IManufacturingSite } from './site.entity.js';
import { type PostalAddress, postalAddressOf } from './site.service.js';

@InputType({ description: "A postal address in the Battery Pass data model's names (its PostalAddressEntity, with the town as schema.org names it)." })
export class PostalAddressInput {
  @Field(() => String, { description: 'Street and number (and building, if needed); at most 200 characters.' }) streetAddress!: string;
  @Field(() => String, { description: 'Letters, digits, spaces and hyphens; at most 20 characters.' }) postalCode!: string;
  @Field(() => String, { description: 'Town or city; at most 100 characters.' }) addressLocality!: string;
  @Field(() => String, { description: 'ISO 3166-1 alpha-2 country code.' }) addressCountry!: string;
}

@InputType({ description: 'A manufacturing site a brand registers once; mints name it by its id.' })
export class ManufacturingSiteInput {
  @Field(() => String, { description: "The brand's own code for the site, unique per brand (1 to 64 characters); a mint naming the site records it as the units' `site`." })
  identifier!: string;
  @Field(() => String, { nullable: true, description: 'At most 200 characters.' }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'The GS1 Global Location Number of the site (13 digits, check digit verified), unique per brand.' }) gln?: string | null;
  @Field(() => PostalAddressInput) address!: PostalAddressInput;
}

@ObjectType('PostalAddress')
export class PostalAddressType {
  @Field(() => String) streetAddress!: string;
  @Field(() => String) postalCode!: string;
  @Field(() => String) addressLocality!: string;
  @Field(() => String, { description: 'ISO 3166-1 alpha-2.' }) addressCountry!: string;

  static from(a: PostalAddress): PostalAddressType {
    return Object.assign(new PostalAddressType(), a);
  }
}

@ObjectType('ManufacturingSite', { description: "A brand's manufacturing site; a battery minted there has its address as `manufacturingPlace`. Never changed once registered." })
export class ManufacturingSiteType {
  @Field(() => ID) id!: string;
  @Field(() => String) identifier!: string;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) gln?: string | null;
  @Field(() => PostalAddressType) address!: PostalAddressType;
  @Field(() => Date) createdAt!: Date;

  static from(s: IManufacturingSite): ManufacturingSiteType {
    return Object.assign(new ManufacturingSiteType(), {
      id: s.id,
      identifier: s.identifier,
      name: s.name ?? null,
      gln: s.gln ?? null,
      address: PostalAddressType.from(postalAddressOf(s)),
      createdAt: s.createdAt,
    });
  }
}

import { Migration } from '@mikro-orm/migrations';

export class Migration20261208002339_manufacturing_sites extends Migration {

  override name = 'Migration20261208002339_manufacturing_sites';

  override up(): void | Promise<void> {
    this.addSql(`create table "manufacturing_site" ("id" uuid not null, "brand_id" uuid not null, "identifier" varchar(64) not null, "name" varchar(200) null, "gln" varchar(13) null, "street_address" varchar(200) not null, "postal_code" varchar(20) not null, "locality" varchar(100) not null, "country" varchar(2) not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "manufacturing_site" add constraint "manufacturing_site_brand_id_identifier_unique" unique ("brand_id", "identifier");`);
    this.addSql(`alter table "manufacturing_site" add constraint "manufacturing_site_brand_id_gln_unique" unique ("brand_id", "gln");`);

    this.addSql(`alter table "mint_batch" add "manufacturing_site_id" uuid null;`);
    this.addSql(`alter table "mint_batch" add constraint "mint_batch_manufacturing_site_id_foreign" foreign key ("manufacturing_site_id") references "manufacturing_site" ("id") on delete no action;`);

    this.addSql(`alter table "manufacturing_site" add constraint "manufacturing_site_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "mint_batch" drop constraint "mint_batch_manufacturing_site_id_foreign";`);

    this.addSql(`drop table if exists "manufacturing_site" cascade;`);

    this.addSql(`alter table "mint_batch" drop column "manufacturing_site_id";`);
  }

}

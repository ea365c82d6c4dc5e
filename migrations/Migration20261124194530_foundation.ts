import { Migration } from '@mikro-orm/migrations';

export class Migration20261124194530_foundation extends Migration {

  override name = 'Migration20261124194530_foundation';

  override up(): void | Promise<void> {
    this.addSql(`create type "org_kind" as enum ('PLATFORM', 'BRAND', 'RETAILER', 'DISTRIBUTOR', 'REGULATOR', 'CUSTOMS', 'RECYCLER', 'SERVICE_PARTNER');`);
    this.addSql(`create table "organization" ("id" uuid not null, "name" varchar(200) not null, "kind" "org_kind" not null, "gs1_company_prefixes" text[] not null default '{}', "markets" text[] not null default '{}', "created_at" timestamptz not null, primary key ("id"));`);

    this.addSql(`create table "api_key" ("id" uuid not null, "organization_id" uuid not null, "label" varchar(200) not null, "secret_hash" varchar(64) not null, "hint" varchar(16) not null, "created_at" timestamptz not null, "revoked_at" timestamptz null, "last_used_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "api_key_organization_id_index" on "api_key" ("organization_id");`);
    this.addSql(`alter table "api_key" add constraint "api_key_secret_hash_unique" unique ("secret_hash");`);

    this.addSql(`alter table "api_key" add constraint "api_key_organization_id_foreign" foreign key ("organization_id") references "organization" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "api_key" drop constraint "api_key_organization_id_foreign";`);

    this.addSql(`drop table if exists "organization" cascade;`);
    this.addSql(`drop table if exists "api_key" cascade;`);

    this.addSql(`drop type "org_kind";`);
  }

}

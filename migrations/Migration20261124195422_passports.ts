import { Migration } from '@mikro-orm/migrations';

export class Migration20261124195422_passports extends Migration {

  override name = 'Migration20261124195422_passports';

  override up(): void | Promise<void> {
    this.addSql(`create type "carrier" as enum ('QR', 'NFC_SUN', 'QR_AND_NFC');`);
    this.addSql(`create type "passport_status" as enum ('MINTED', 'SIGNED', 'IN_SUPPLY_CHAIN', 'SOLD', 'OWNED', 'END_OF_LIFE', 'RECYCLED', 'REVOKED');`);
    this.addSql(`create type "lifecycle_event_type" as enum ('MINTED', 'SIGNED', 'CUSTODY', 'SOLD', 'OWNERSHIP_CLAIMED', 'OWNERSHIP_TRANSFERRED', 'WARRANTY_CLAIMED', 'SERVICED', 'TAMPER_REPORTED', 'END_OF_LIFE', 'RECYCLED', 'REVOKED');`);
    this.addSql(`create type "signing_key_status" as enum ('ACTIVE', 'RETIRED', 'REVOKED');`);
    this.addSql(`create table "product_model" ("id" uuid not null, "gtin" varchar(14) not null, "brand_id" uuid not null, "name" varchar(200) not null, "category" varchar(100) null, "warranty_months" int null, "authorised_markets" text[] not null default '{}', "max_lifetime_scans" int null, "dpp" jsonb null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "product_model" add constraint "product_model_gtin_unique" unique ("gtin");`);
    this.addSql(`create index "product_model_brand_id_index" on "product_model" ("brand_id");`);

    this.addSql(`create table "mint_batch" ("id" uuid not null, "brand_id" uuid not null, "model_id" uuid not null, "gtin" varchar(14) not null, "quantity" int not null, "idempotency_key" varchar(200) not null, "request_hash" varchar(64) not null, "lot" varchar(20) null, "site" varchar(200) null, "carrier" "carrier" not null, "destination_markets" text[] not null default '{}', "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "mint_batch" add constraint "mint_batch_brand_id_idempotency_key_unique" unique ("brand_id", "idempotency_key");`);

    this.addSql(`create table "passport" ("id" uuid not null, "gtin" varchar(14) not null, "serial" varchar(20) not null, "brand_id" uuid not null, "model_id" uuid not null, "batch_id" uuid not null, "lot" varchar(20) null, "site" varchar(200) null, "manufactured_at" timestamptz not null, "carrier" "carrier" not null, "destination_markets" text[] not null default '{}', "status" "passport_status" not null, "signature" varchar(100) null, "kid" varchar(64) null, "signed_at" timestamptz null, "head_hash" varchar(64) null, "head_seq" int not null default 0, "claim_code_hash" varchar(64) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    // Added by hand before landing: room on each page so signing (an update of unindexed columns) stays a HOT update.
    this.addSql(`alter table "passport" set (fillfactor = 70);`);
    this.addSql(`create index "passport_brand_id_created_at_id_index" on "passport" ("brand_id", "created_at", "id");`);
    this.addSql(`create index "passport_batch_id_index" on "passport" ("batch_id");`);
    this.addSql(`alter table "passport" add constraint "passport_gtin_serial_unique" unique ("gtin", "serial");`);

    this.addSql(`create table "lifecycle_event" ("id" uuid not null, "passport_id" uuid not null, "seq" int not null, "type" "lifecycle_event_type" not null, "occurred_at" timestamptz not null, "recorded_at" timestamptz not null, "actor_id" uuid null, "payload" jsonb not null, "prev_hash" varchar(64) null, "hash" varchar(64) not null, primary key ("id"));`);
    this.addSql(`alter table "lifecycle_event" add constraint "lifecycle_event_passport_id_seq_unique" unique ("passport_id", "seq");`);

    this.addSql(`create table "signing_key" ("kid" varchar(64) not null, "brand_id" uuid not null, "status" "signing_key_status" not null, "algorithm" varchar(16) not null default 'Ed25519', "public_key" varchar(64) not null, "private_key_ref" text not null, "key_store" varchar(32) not null, "created_at" timestamptz not null, "retired_at" timestamptz null, "revoked_at" timestamptz null, "revocation_reason" varchar(500) null, primary key ("kid"));`);
    this.addSql(`create index "signing_key_brand_id_index" on "signing_key" ("brand_id");`);
    this.addSql(`create unique index "signing_key_one_active_per_brand" on "signing_key" ("brand_id") where status = 'ACTIVE';`);

    this.addSql(`alter table "product_model" add constraint "product_model_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);

    this.addSql(`alter table "mint_batch" add constraint "mint_batch_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);
    this.addSql(`alter table "mint_batch" add constraint "mint_batch_model_id_foreign" foreign key ("model_id") references "product_model" ("id");`);

    this.addSql(`alter table "passport" add constraint "passport_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);
    this.addSql(`alter table "passport" add constraint "passport_model_id_foreign" foreign key ("model_id") references "product_model" ("id");`);
    this.addSql(`alter table "passport" add constraint "passport_batch_id_foreign" foreign key ("batch_id") references "mint_batch" ("id");`);

    this.addSql(`alter table "lifecycle_event" add constraint "lifecycle_event_passport_id_foreign" foreign key ("passport_id") references "passport" ("id");`);
    this.addSql(`alter table "lifecycle_event" add constraint "lifecycle_event_actor_id_foreign" foreign key ("actor_id") references "organization" ("id");`);
    this.addSql(`create or replace function "lifecycle_event_lifecycle_event_append_only_fn"() returns trigger as \$\$ begin raise exception 'lifecycle_event is append-only'; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "lifecycle_event_append_only" BEFORE UPDATE OR DELETE on "lifecycle_event" for each ROW execute function "lifecycle_event_lifecycle_event_append_only_fn"();`);

    this.addSql(`alter table "signing_key" add constraint "signing_key_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "mint_batch" drop constraint "mint_batch_model_id_foreign";`);
    this.addSql(`alter table "passport" drop constraint "passport_model_id_foreign";`);
    this.addSql(`alter table "passport" drop constraint "passport_batch_id_foreign";`);
    this.addSql(`alter table "lifecycle_event" drop constraint "lifecycle_event_passport_id_foreign";`);

    this.addSql(`drop table if exists "product_model" cascade;`);
    this.addSql(`drop table if exists "mint_batch" cascade;`);
    this.addSql(`drop table if exists "passport" cascade;`);
    this.addSql(`drop trigger if exists "lifecycle_event_append_only" on "lifecycle_event";`);
    this.addSql(`drop function if exists "lifecycle_event_lifecycle_event_append_only_fn"();`);
    this.addSql(`drop table if exists "lifecycle_event" cascade;`);
    this.addSql(`drop table if exists "signing_key" cascade;`);

    this.addSql(`drop type "carrier";`);
    this.addSql(`drop type "passport_status";`);
    this.addSql(`drop type "lifecycle_event_type";`);
    this.addSql(`drop type "signing_key_status";`);
  }

}

import { Migration } from '@mikro-orm/migrations';

export class Migration20261124221406_owners extends Migration {

  override name = 'Migration20261124221406_owners';

  override up(): void | Promise<void> {
    this.addSql(`create type "ownership_acquisition" as enum ('CLAIM', 'TRANSFER');`);
    this.addSql(`create type "transfer_offer_status" as enum ('OPEN', 'ACCEPTED', 'CANCELLED');`);
    this.addSql(`create type "warranty_claim_status" as enum ('OPEN', 'APPROVED', 'REJECTED');`);
    this.addSql(`create type "webauthn_challenge_purpose" as enum ('REGISTER', 'ADD_PASSKEY', 'SIGN_IN', 'CLAIM_OWNERSHIP', 'OFFER_TRANSFER', 'ACCEPT_TRANSFER', 'WARRANTY_CLAIM');`);
    this.addSql(`create table "owner" ("id" uuid not null, "display_name" varchar(64) not null, "webauthn_user_id" varchar(64) not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "owner" add constraint "owner_webauthn_user_id_unique" unique ("webauthn_user_id");`);

    this.addSql(`create table "owner_session" ("id" uuid not null, "owner_id" uuid not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "owner_session_owner_id_index" on "owner_session" ("owner_id");`);
    this.addSql(`alter table "owner_session" add constraint "owner_session_token_hash_unique" unique ("token_hash");`);

    this.addSql(`create table "passkey_credential" ("id" uuid not null, "owner_id" uuid not null, "credential_id" text not null, "public_key" text not null, "counter" bigint not null default '0', "transports" text[] not null default '{}', "backup_eligible" boolean not null, "backed_up" boolean not null, "aaguid" varchar(36) not null, "name" varchar(64) not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "passkey_credential_owner_id_index" on "passkey_credential" ("owner_id");`);
    this.addSql(`alter table "passkey_credential" add constraint "passkey_credential_credential_id_unique" unique ("credential_id");`);

    this.addSql(`create table "ownership" ("id" uuid not null, "passport_id" uuid not null, "owner_id" uuid not null, "acquired_via" "ownership_acquisition" not null, "started_at" timestamptz not null, "ended_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "ownership_owner_id_index" on "ownership" ("owner_id");`);
    this.addSql(`create index "ownership_passport_id_started_at_index" on "ownership" ("passport_id", "started_at");`);
    this.addSql(`create unique index "ownership_one_open_per_passport" on "ownership" ("passport_id") where ended_at is null;`);

    this.addSql(`create table "transfer_offer" ("id" uuid not null, "passport_id" uuid not null, "ownership_id" uuid not null, "code_hash" varchar(64) not null, "status" "transfer_offer_status" not null, "expires_at" timestamptz not null, "created_at" timestamptz not null, "closed_at" timestamptz null, "accepted_ownership_id" uuid null, primary key ("id"));`);
    this.addSql(`create index "transfer_offer_ownership_id_index" on "transfer_offer" ("ownership_id");`);
    this.addSql(`alter table "transfer_offer" add constraint "transfer_offer_code_hash_unique" unique ("code_hash");`);
    this.addSql(`create unique index "transfer_offer_one_open_per_passport" on "transfer_offer" ("passport_id") where status = 'OPEN';`);

    this.addSql(`create table "warranty_claim" ("id" uuid not null, "passport_id" uuid not null, "brand_id" uuid not null, "claimant_id" uuid not null, "ownership_id" uuid not null, "issue" text not null, "issue_key" varchar(64) not null, "status" "warranty_claim_status" not null, "risk_score" double precision not null, "reasons" text[] not null default '{}', "signals" jsonb not null, "event_seq" int null, "created_at" timestamptz not null, "decided_at" timestamptz null, "decided_by_id" uuid null, "decision_note" varchar(1000) null, primary key ("id"));`);
    this.addSql(`create index "warranty_claim_brand_id_id_index" on "warranty_claim" ("brand_id", "id");`);
    this.addSql(`create index "warranty_claim_passport_id_index" on "warranty_claim" ("passport_id");`);
    this.addSql(`create index "warranty_claim_claimant_id_created_at_index" on "warranty_claim" ("claimant_id", "created_at");`);

    this.addSql(`create table "webauthn_challenge" ("id" uuid not null, "challenge" varchar(64) not null, "purpose" "webauthn_challenge_purpose" not null, "passport_id" uuid null, "owner_id" uuid null, "pending_owner_id" uuid null, "user_handle" varchar(64) null, "display_name" varchar(64) null, "expires_at" timestamptz not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "webauthn_challenge" add constraint "webauthn_challenge_challenge_unique" unique ("challenge");`);
    this.addSql(`create index "webauthn_challenge_expires_at_index" on "webauthn_challenge" ("expires_at");`);

    this.addSql(`alter table "owner_session" add constraint "owner_session_owner_id_foreign" foreign key ("owner_id") references "owner" ("id") on delete cascade;`);

    this.addSql(`alter table "passkey_credential" add constraint "passkey_credential_owner_id_foreign" foreign key ("owner_id") references "owner" ("id");`);

    this.addSql(`alter table "ownership" add constraint "ownership_passport_id_foreign" foreign key ("passport_id") references "passport" ("id");`);
    this.addSql(`alter table "ownership" add constraint "ownership_owner_id_foreign" foreign key ("owner_id") references "owner" ("id");`);

    this.addSql(`alter table "transfer_offer" add constraint "transfer_offer_passport_id_foreign" foreign key ("passport_id") references "passport" ("id");`);
    this.addSql(`alter table "transfer_offer" add constraint "transfer_offer_ownership_id_foreign" foreign key ("ownership_id") references "ownership" ("id");`);
    this.addSql(`alter table "transfer_offer" add constraint "transfer_offer_accepted_ownership_id_foreign" foreign key ("accepted_ownership_id") references "ownership" ("id") on delete set null;`);

    this.addSql(`alter table "warranty_claim" add constraint "warranty_claim_passport_id_foreign" foreign key ("passport_id") references "passport" ("id");`);
    this.addSql(`alter table "warranty_claim" add constraint "warranty_claim_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);
    this.addSql(`alter table "warranty_claim" add constraint "warranty_claim_claimant_id_foreign" foreign key ("claimant_id") references "owner" ("id");`);
    this.addSql(`alter table "warranty_claim" add constraint "warranty_claim_ownership_id_foreign" foreign key ("ownership_id") references "ownership" ("id");`);
    this.addSql(`alter table "warranty_claim" add constraint "warranty_claim_decided_by_id_foreign" foreign key ("decided_by_id") references "organization" ("id") on delete set null;`);

    this.addSql(`alter table "webauthn_challenge" add constraint "webauthn_challenge_passport_id_foreign" foreign key ("passport_id") references "passport" ("id") on delete set null;`);
    this.addSql(`alter table "webauthn_challenge" add constraint "webauthn_challenge_owner_id_foreign" foreign key ("owner_id") references "owner" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "owner_session" drop constraint "owner_session_owner_id_foreign";`);
    this.addSql(`alter table "passkey_credential" drop constraint "passkey_credential_owner_id_foreign";`);
    this.addSql(`alter table "ownership" drop constraint "ownership_owner_id_foreign";`);
    this.addSql(`alter table "warranty_claim" drop constraint "warranty_claim_claimant_id_foreign";`);
    this.addSql(`alter table "webauthn_challenge" drop constraint "webauthn_challenge_owner_id_foreign";`);
    this.addSql(`alter table "transfer_offer" drop constraint "transfer_offer_ownership_id_foreign";`);
    this.addSql(`alter table "transfer_offer" drop constraint "transfer_offer_accepted_ownership_id_foreign";`);
    this.addSql(`alter table "warranty_claim" drop constraint "warranty_claim_ownership_id_foreign";`);

    this.addSql(`drop table if exists "owner" cascade;`);
    this.addSql(`drop table if exists "owner_session" cascade;`);
    this.addSql(`drop table if exists "passkey_credential" cascade;`);
    this.addSql(`drop table if exists "ownership" cascade;`);
    this.addSql(`drop table if exists "transfer_offer" cascade;`);
    this.addSql(`drop table if exists "warranty_claim" cascade;`);
    this.addSql(`drop table if exists "webauthn_challenge" cascade;`);

    this.addSql(`drop type "ownership_acquisition";`);
    this.addSql(`drop type "transfer_offer_status";`);
    this.addSql(`drop type "warranty_claim_status";`);
    this.addSql(`drop type "webauthn_challenge_purpose";`);
  }

}

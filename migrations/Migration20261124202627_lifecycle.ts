import { Migration } from '@mikro-orm/migrations';

export class Migration20261124202627_lifecycle extends Migration {

  override name = 'Migration20261124202627_lifecycle';

  override up(): void | Promise<void> {
    this.addSql(`create table "epcis_capture" ("id" uuid not null, "organization_id" uuid not null, "idempotency_key" varchar(200) null, "request_hash" varchar(64) not null, "event_count" int not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "epcis_capture" add constraint "epcis_capture_organization_id_idempotency_key_unique" unique ("organization_id", "idempotency_key");`);

    this.addSql(`create table "captured_epcis_event" ("event_id" varchar(500) not null, "capture_id" uuid not null, "created_at" timestamptz not null, primary key ("event_id"));`);
    this.addSql(`create index "captured_epcis_event_capture_id_index" on "captured_epcis_event" ("capture_id");`);

    this.addSql(`create table "audit_log" ("id" uuid not null, "organization_id" uuid not null, "api_key_id" uuid null, "action" varchar(100) not null, "passport_id" uuid null, "details" jsonb not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "audit_log_organization_id_created_at_index" on "audit_log" ("organization_id", "created_at");`);
    this.addSql(`create index "audit_log_passport_id_index" on "audit_log" ("passport_id");`);

    this.addSql(`create table "service_authorization" ("id" uuid not null, "brand_id" uuid not null, "partner_id" uuid not null, "created_at" timestamptz not null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "service_authorization_partner_id_index" on "service_authorization" ("partner_id");`);
    this.addSql(`alter table "service_authorization" add constraint "service_authorization_brand_id_partner_id_unique" unique ("brand_id", "partner_id");`);

    this.addSql(`create table "service_record" ("id" uuid not null, "passport_id" uuid not null, "partner_id" uuid not null, "work_done" text not null, "parts" jsonb not null, "performed_at" timestamptz not null, "event_seq" int not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "service_record_passport_id_index" on "service_record" ("passport_id");`);

    this.addSql(`alter table "epcis_capture" add constraint "epcis_capture_organization_id_foreign" foreign key ("organization_id") references "organization" ("id");`);

    this.addSql(`alter table "captured_epcis_event" add constraint "captured_epcis_event_capture_id_foreign" foreign key ("capture_id") references "epcis_capture" ("id");`);

    this.addSql(`alter table "audit_log" add constraint "audit_log_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on delete no action;`);
    this.addSql(`create or replace function "audit_log_audit_log_append_only_fn"() returns trigger as \$\$ begin raise exception 'audit_log is append-only'; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "audit_log_append_only" BEFORE UPDATE OR DELETE on "audit_log" for each ROW execute function "audit_log_audit_log_append_only_fn"();`);

    this.addSql(`alter table "service_authorization" add constraint "service_authorization_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);
    this.addSql(`alter table "service_authorization" add constraint "service_authorization_partner_id_foreign" foreign key ("partner_id") references "organization" ("id");`);

    this.addSql(`alter table "service_record" add constraint "service_record_passport_id_foreign" foreign key ("passport_id") references "passport" ("id");`);
    this.addSql(`alter table "service_record" add constraint "service_record_partner_id_foreign" foreign key ("partner_id") references "organization" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "captured_epcis_event" drop constraint "captured_epcis_event_capture_id_foreign";`);

    this.addSql(`drop table if exists "epcis_capture" cascade;`);
    this.addSql(`drop table if exists "captured_epcis_event" cascade;`);
    this.addSql(`drop trigger if exists "audit_log_append_only" on "audit_log";`);
    this.addSql(`drop function if exists "audit_log_audit_log_append_only_fn"();`);
    this.addSql(`drop table if exists "audit_log" cascade;`);
    this.addSql(`drop table if exists "service_authorization" cascade;`);
    this.addSql(`drop table if exists "service_record" cascade;`);
  }

}

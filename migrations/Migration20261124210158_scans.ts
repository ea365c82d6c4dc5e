import { Migration } from '@mikro-orm/migrations';

export class Migration20261124210158_scans extends Migration {

  override name = 'Migration20261124210158_scans';

  override up(): void | Promise<void> {
    this.addSql(`create type "alert_kind" as enum ('UNKNOWN_SERIAL', 'INVALID_SIGNATURE', 'IMPOSSIBLE_TRAVEL', 'SCAN_VELOCITY', 'SCAN_COUNT', 'GREY_MARKET', 'POST_END_OF_LIFE', 'NFC_REPLAY', 'TAMPER_REPORTED', 'WARRANTY_FRAUD_RISK');`);
    this.addSql(`create type "severity" as enum ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL');`);
    this.addSql(`create type "alert_status" as enum ('OPEN', 'ACKNOWLEDGED');`);
    this.addSql(`create type "verdict" as enum ('AUTHENTIC', 'SUSPICIOUS', 'COUNTERFEIT', 'UNKNOWN', 'REVOKED');`);
    this.addSql(`create table "outbox_message" ("id" uuid not null, "topic" varchar(100) not null, "payload" jsonb not null, "created_at" timestamptz not null, "published_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "outbox_message_published_at_id_index" on "outbox_message" ("published_at", "id");`);

    this.addSql(`create table "fraud_alert" ("id" uuid not null, "brand_id" uuid not null, "passport_id" uuid null, "gtin" varchar(14) not null, "subject" varchar(64) not null, "kind" "alert_kind" not null, "severity" "severity" not null, "status" "alert_status" not null, "evidence" jsonb not null, "count" int not null default 1, "first_seen_at" timestamptz not null, "last_seen_at" timestamptz not null, "acknowledged_at" timestamptz null, "acknowledged_by" uuid null, primary key ("id"));`);
    this.addSql(`create index "fraud_alert_brand_id_id_index" on "fraud_alert" ("brand_id", "id");`);
    this.addSql(`create index "fraud_alert_passport_id_index" on "fraud_alert" ("passport_id");`);
    this.addSql(`create unique index "fraud_alert_one_open_per_subject" on "fraud_alert" ("subject", "kind") where status = 'OPEN';`);

    this.addSql(`create table "scan_event" ("id" uuid not null, "passport_id" uuid null, "gtin" varchar(14) not null, "serial" varchar(20) not null, "scanned_at" timestamptz not null, "latitude" double precision null, "longitude" double precision null, "country" varchar(2) null, "device_hash" varchar(64) null, "client_key" varchar(64) not null, "channel" varchar(16) not null, "signature_check" varchar(16) not null, "verdict" "verdict" not null, "reasons" text[] not null default '{}', "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "scan_event_passport_id_scanned_at_index" on "scan_event" ("passport_id", "scanned_at");`);
    this.addSql(`create index "scan_event_client_key_scanned_at_index" on "scan_event" ("client_key", "scanned_at");`);
    this.addSql(`create index "scan_event_gtin_scanned_at_index" on "scan_event" ("gtin", "scanned_at");`);

    this.addSql(`alter table "fraud_alert" add constraint "fraud_alert_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);
    this.addSql(`alter table "fraud_alert" add constraint "fraud_alert_passport_id_foreign" foreign key ("passport_id") references "passport" ("id") on delete set null;`);

    this.addSql(`alter table "scan_event" add constraint "scan_event_passport_id_foreign" foreign key ("passport_id") references "passport" ("id") on delete set null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "outbox_message" cascade;`);
    this.addSql(`drop table if exists "fraud_alert" cascade;`);
    this.addSql(`drop table if exists "scan_event" cascade;`);

    this.addSql(`drop type "alert_kind";`);
    this.addSql(`drop type "severity";`);
    this.addSql(`drop type "alert_status";`);
    this.addSql(`drop type "verdict";`);
  }

}

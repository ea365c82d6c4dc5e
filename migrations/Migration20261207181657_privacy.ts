import { Migration } from '@mikro-orm/migrations';

export class Migration20261207181657_privacy extends Migration {

  override name = 'Migration20261207181657_privacy';

  override up(): void | Promise<void> {
    this.addSql(`create type "scan_recording" as enum ('STANDARD', 'MINIMAL');`);
    this.addSql(`create table "scan_daily" ("day" date not null, "gtin" varchar(14) not null, "verdict" "verdict" not null, "country" varchar(2) not null, "scans" int not null, primary key ("day", "gtin", "verdict", "country"));`);

    this.addSql(`drop trigger if exists "audit_log_append_only" on "audit_log";`);
    this.addSql(`drop function if exists "audit_log_audit_log_append_only_fn"();`);
    this.addSql(`create index "audit_log_created_at_index" on "audit_log" ("created_at");`);
    this.addSql(`create or replace function "audit_log_audit_log_append_only_fn"() returns trigger as \$\$ begin if tg_op = 'DELETE' and current_setting('dpp.audit_retention', true) = 'on' then return old; end if; raise exception 'audit_log is append-only'; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "audit_log_append_only" BEFORE UPDATE OR DELETE on "audit_log" for each ROW execute function "audit_log_audit_log_append_only_fn"();`);

    this.addSql(`alter table "owner" add "erased_at" timestamptz null;`);

    this.addSql(`alter table "product_model" add "scan_recording" "scan_recording" not null default 'STANDARD', add "scan_location_decimals" smallint null;`);

    this.addSql(`alter table "passport" add "scans_purged" int not null default 0;`);

    this.addSql(`alter table "scan_event" alter column "client_key" drop not null;`);

    this.addSql(`alter table "warranty_claim" add "redacted_at" timestamptz null;`);

    this.addSql(`alter type "webauthn_challenge_purpose" add value if not exists 'DELETE_ACCOUNT' after 'WARRANTY_CLAIM';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "scan_daily" cascade;`);

    this.addSql(`drop index "audit_log_created_at_index";`);
    this.addSql(`drop trigger if exists "audit_log_append_only" on "audit_log";`);
    this.addSql(`drop function if exists "audit_log_audit_log_append_only_fn"();`);
    this.addSql(`create or replace function "audit_log_audit_log_append_only_fn"() returns trigger as \$\$ begin raise exception 'audit_log is append-only'; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "audit_log_append_only" BEFORE DELETE OR UPDATE on "audit_log" for each ROW execute function "audit_log_audit_log_append_only_fn"();`);

    this.addSql(`alter table "owner" drop column "erased_at";`);

    this.addSql(`alter table "passport" drop column "scans_purged";`);

    this.addSql(`alter table "product_model" drop column "scan_recording", drop column "scan_location_decimals";`);

    this.addSql(`alter table "scan_event" alter column "client_key" set not null;`);

    this.addSql(`alter table "warranty_claim" drop column "redacted_at";`);

    this.addSql(`drop type "scan_recording";`);
  }

}

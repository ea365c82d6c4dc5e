import { Migration } from '@mikro-orm/migrations';

export class Migration20261207180410_privacy extends Migration {

  override name = 'Migration20261207180410_privacy';

  override up(): void | Promise<void> {
    this.addSql(`create type "scan_recording" as enum ('STANDARD', 'MINIMAL');`);
    this.addSql(`create table "scan_daily" ("day" date not null, "gtin" varchar(14) not null, "verdict" "verdict" not null, "country" varchar(2) not null, "scans" int not null, primary key ("day", "gtin", "verdict", "country"));`);

    this.addSql(`alter table "owner" add "erased_at" timestamptz null;`);

    this.addSql(`alter table "product_model" add "scan_recording" "scan_recording" not null default 'STANDARD', add "scan_location_decimals" smallint null;`);

    this.addSql(`alter table "passport" add "scans_purged" int not null default 0;`);

    this.addSql(`alter table "scan_event" alter column "client_key" drop not null;`);

    this.addSql(`alter table "warranty_claim" add "redacted_at" timestamptz null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "scan_daily" cascade;`);

    this.addSql(`alter table "owner" drop column "erased_at";`);

    this.addSql(`alter table "passport" drop column "scans_purged";`);

    this.addSql(`alter table "product_model" drop column "scan_recording", drop column "scan_location_decimals";`);

    this.addSql(`alter table "scan_event" alter column "client_key" set not null;`);

    this.addSql(`alter table "warranty_claim" drop column "redacted_at";`);

    this.addSql(`drop type "scan_recording";`);
  }

}

import { Migration } from '@mikro-orm/migrations';

export class Migration20261125004600_scan_seq extends Migration {

  override name = 'Migration20261125004600_scan_seq';

  override up(): void | Promise<void> {
    this.addSql(`alter table "fraud_alert" drop constraint "fraud_alert_passport_id_foreign";`);

    this.addSql(`alter table "scan_event" drop constraint "scan_event_passport_id_foreign";`);

    this.addSql(`alter table "scan_event" add "seq" int null;`);
    // Scans recorded before numbering: numbered in the order they were recorded (ids are time-ordered),
    // per unit, and for identities never minted per GTIN and client.
    this.addSql(`update "scan_event" s set "seq" = n.seq from (select id, row_number() over (partition by passport_id, case when passport_id is null then gtin end, case when passport_id is null then client_key end order by created_at, id) as seq from "scan_event") n where s.id = n.id;`);
    this.addSql(`alter table "scan_event" alter column "seq" set not null;`);
    this.addSql(`alter table "scan_event" add constraint "scan_event_passport_seq" unique ("passport_id", "seq");`);
    this.addSql(`create unique index "scan_event_probe_seq" on "scan_event" ("gtin", "client_key", "seq") where passport_id is null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "fraud_alert" add constraint "fraud_alert_passport_id_foreign" foreign key ("passport_id") references "passport" ("id") on update no action on delete set null;`);

    this.addSql(`alter table "scan_event" drop constraint "scan_event_passport_seq";`);
    this.addSql(`drop index "scan_event_probe_seq";`);
    this.addSql(`alter table "scan_event" drop column "seq";`);
    this.addSql(`alter table "scan_event" add constraint "scan_event_passport_id_foreign" foreign key ("passport_id") references "passport" ("id") on update no action on delete set null;`);
  }

}

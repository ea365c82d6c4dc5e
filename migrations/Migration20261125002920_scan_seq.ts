import { Migration } from '@mikro-orm/migrations';

export class Migration20261125002920_scan_seq extends Migration {

  override name = 'Migration20261125002920_scan_seq';

  override up(): void | Promise<void> {
    this.addSql(`alter table "fraud_alert" drop constraint "fraud_alert_passport_id_foreign";`);

    this.addSql(`alter table "scan_event" drop constraint "scan_event_passport_id_foreign";`);

    this.addSql(`alter table "scan_event" add "seq" int null;`);
    // Scans recorded before numbering: numbered in the order they were recorded (ids are time-ordered).
    this.addSql(`update "scan_event" s set "seq" = n.seq from (select id, row_number() over (partition by passport_id order by created_at, id) as seq from "scan_event" where passport_id is not null) n where s.id = n.id;`);
    this.addSql(`alter table "scan_event" add constraint "scan_event_passport_seq" unique ("passport_id", "seq");`);
    this.addSql(`alter table "scan_event" add constraint "scan_event_seq_of_known_unit" check ((passport_id is null) = (seq is null));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "fraud_alert" add constraint "fraud_alert_passport_id_foreign" foreign key ("passport_id") references "passport" ("id") on update no action on delete set null;`);

    this.addSql(`alter table "scan_event" drop constraint "scan_event_passport_seq";`);
    this.addSql(`alter table "scan_event" drop constraint "scan_event_seq_of_known_unit";`);
    this.addSql(`alter table "scan_event" drop column "seq";`);
    this.addSql(`alter table "scan_event" add constraint "scan_event_passport_id_foreign" foreign key ("passport_id") references "passport" ("id") on update no action on delete set null;`);
  }

}

import { Migration } from '@mikro-orm/migrations';

export class Migration20261125035505_probe_time extends Migration {

  override name = 'Migration20261125035505_probe_time';

  override up(): void | Promise<void> {
    this.addSql(`drop index "scan_event_client_key_scanned_at_index";`);
    this.addSql(`create index "scan_event_probe_time" on "scan_event" ("gtin", "client_key", "scanned_at") where passport_id is null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "scan_event_probe_time";`);
    this.addSql(`create index "scan_event_client_key_scanned_at_index" on "scan_event" ("client_key", "scanned_at");`);
  }

}

import { Migration } from '@mikro-orm/migrations';

export class Migration20261207173016_custody_event_id extends Migration {

  override name = 'Migration20261207173016_custody_event_id';

  override up(): void | Promise<void> {
    this.addSql(`create index "lifecycle_event_custody_event_id" on "lifecycle_event" ((payload->>'eventID')) where type = 'CUSTODY';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "lifecycle_event_custody_event_id";`);
  }

}

import { Migration } from '@mikro-orm/migrations';

export class Migration20261207172016_outbox_announced extends Migration {

  override name = 'Migration20261207172016_outbox_announced';

  override up(): void | Promise<void> {
    this.addSql(`alter table "outbox_message" add "published_by" uuid null, add "relayed_at" timestamptz null;`);
    this.addSql(`create index "outbox_message_unannounced" on "outbox_message" ("id") where relayed_at is null and published_by is not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "outbox_message_unannounced";`);
    this.addSql(`alter table "outbox_message" drop column "published_by", drop column "relayed_at";`);
  }

}

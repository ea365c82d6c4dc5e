import { Migration } from '@mikro-orm/migrations';

export class Migration20261207172255_identity_links extends Migration {

  override name = 'Migration20261207172255_identity_links';

  override up(): void | Promise<void> {
    this.addSql(`alter table "product_model" add "links" jsonb null;`);

    this.addSql(`alter type "alert_kind" add value if not exists 'IDENTITY_MISMATCH' after 'INVALID_SIGNATURE';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "product_model" drop column "links";`);
  }

}

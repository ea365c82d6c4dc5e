import { Migration } from '@mikro-orm/migrations';

export class Migration20261208001446_webhook_disabled_alerts extends Migration {

  override name = 'Migration20261208001446_webhook_disabled_alerts';

  override up(): void | Promise<void> {
    this.addSql(`alter type "alert_kind" add value if not exists 'WEBHOOK_ENDPOINT_DISABLED' after 'WARRANTY_FRAUD_RISK';`);
    this.addSql(`alter table "fraud_alert" alter column "gtin" drop not null;`);
  }

  override down(): void | Promise<void> {
    // Operational alerts have no GTIN and cannot stay; the enum value stays (PostgreSQL cannot drop one).
    this.addSql(`delete from "fraud_alert" where "gtin" is null;`);
    this.addSql(`alter table "fraud_alert" alter column "gtin" set not null;`);
  }

}

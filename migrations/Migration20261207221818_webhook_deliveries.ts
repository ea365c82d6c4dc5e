import { Migration } from '@mikro-orm/migrations';

export class Migration20261207221818_webhook_deliveries extends Migration {

  override name = 'Migration20261207221818_webhook_deliveries';

  override up(): void | Promise<void> {
    this.addSql(`create type "webhook_delivery_status" as enum ('PENDING', 'SENDING', 'DELIVERED', 'FAILED');`);
    this.addSql(`create table "webhook_delivery" ("id" uuid not null, "endpoint_id" uuid not null, "event_id" uuid not null, "event_type" varchar(64) not null, "body" text not null, "status" "webhook_delivery_status" not null, "attempts" int not null default 0, "next_attempt_at" timestamptz null, "last_attempt_at" timestamptz null, "response_code" int null, "duration_ms" int null, "error" varchar(500) null, "delivered_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "webhook_delivery_endpoint_id_id_index" on "webhook_delivery" ("endpoint_id", "id");`);
    this.addSql(`create index "webhook_delivery_due" on "webhook_delivery" ("endpoint_id", "next_attempt_at") where status in ('PENDING', 'SENDING');`);

    this.addSql(`alter table "webhook_delivery" add constraint "webhook_delivery_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoint" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "webhook_delivery" cascade;`);

    this.addSql(`drop type "webhook_delivery_status";`);
  }

}

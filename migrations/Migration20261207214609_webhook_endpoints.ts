import { Migration } from '@mikro-orm/migrations';

export class Migration20261207214609_webhook_endpoints extends Migration {

  override name = 'Migration20261207214609_webhook_endpoints';

  override up(): void | Promise<void> {
    this.addSql(`create table "webhook_endpoint" ("id" uuid not null, "brand_id" uuid not null, "url" varchar(2048) not null, "events" text[] not null default '{}', "description" varchar(500) null, "enabled" boolean not null default true, "disabled_reason" varchar(200) null, "secret_sealed" text not null, "previous_secret_sealed" text null, "previous_secret_expires_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "webhook_endpoint_brand_id_id_index" on "webhook_endpoint" ("brand_id", "id");`);

    this.addSql(`alter table "webhook_endpoint" add constraint "webhook_endpoint_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "webhook_endpoint" cascade;`);
  }

}

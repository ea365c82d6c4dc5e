import { Migration } from '@mikro-orm/migrations';

export class Migration20261207171727_status_lists extends Migration {

  override name = 'Migration20261207171727_status_lists';

  override up(): void | Promise<void> {
    this.addSql(`create table "status_list" ("id" uuid not null, "brand_id" uuid not null, "purpose" varchar(20) not null, "size" int not null, "allocated_count" int not null default 0, "allocated" bytea not null, "bits" bytea not null, "version" int not null default 1, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "status_list_brand_id_purpose_created_at_index" on "status_list" ("brand_id", "purpose", "created_at");`);
    this.addSql(`alter table "status_list" add constraint "status_list_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);
    this.addSql(`alter table "passport" add column "status_list_id" uuid null, add column "status_index" int null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "passport" drop column "status_list_id", drop column "status_index";`);
    this.addSql(`drop table if exists "status_list" cascade;`);
  }

}

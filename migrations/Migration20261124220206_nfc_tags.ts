import { Migration } from '@mikro-orm/migrations';

export class Migration20261124220206_nfc_tags extends Migration {

  override name = 'Migration20261124220206_nfc_tags';

  override up(): void | Promise<void> {
    this.addSql(`create table "nfc_tag" ("id" uuid not null, "brand_id" uuid not null, "passport_id" uuid not null, "uid" varchar(14) not null, "last_counter" int null, "last_read_at" timestamptz null, "provisioned_at" timestamptz not null, "provisioned_by" uuid not null, primary key ("id"));`);
    this.addSql(`alter table "nfc_tag" add constraint "nfc_tag_brand_uid_unique" unique ("brand_id", "uid");`);
    this.addSql(`alter table "nfc_tag" add constraint "nfc_tag_passport_unique" unique ("passport_id");`);

    this.addSql(`alter table "nfc_tag" add constraint "nfc_tag_brand_id_foreign" foreign key ("brand_id") references "organization" ("id");`);
    this.addSql(`alter table "nfc_tag" add constraint "nfc_tag_passport_id_foreign" foreign key ("passport_id") references "passport" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "nfc_tag" cascade;`);
  }

}

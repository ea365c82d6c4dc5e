import { Migration } from '@mikro-orm/migrations';

export class Migration20261207180321_batteries extends Migration {

  override name = 'Migration20261207180321_batteries';

  override up(): void | Promise<void> {
    this.addSql(`create type "battery_status" as enum ('ORIGINAL', 'REPURPOSED', 'REUSED', 'REMANUFACTURED', 'WASTE');`);
    this.addSql(`create type "battery_category" as enum ('EV', 'LMT', 'INDUSTRIAL', 'STATIONARY_STORAGE', 'PORTABLE', 'SLI');`);
    this.addSql(`create table "battery_unit" ("passport_id" uuid not null, "status" "battery_status" not null, "predecessor_id" uuid null, "successor_id" uuid null, "operator_id" uuid null, "changed_at" timestamptz not null, primary key ("passport_id"));`);
    this.addSql(`create index "battery_unit_predecessor_id_index" on "battery_unit" ("predecessor_id");`);
    this.addSql(`create index "battery_unit_successor_id_index" on "battery_unit" ("successor_id");`);

    this.addSql(`create table "battery_model" ("id" uuid not null, "model_id" uuid not null, "category" "battery_category" not null, "data" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "battery_model" add constraint "battery_model_model_id_unique" unique ("model_id");`);

    this.addSql(`alter type "lifecycle_event_type" add value if not exists 'BATTERY_CONDITION' after 'REVOKED';`);
    this.addSql(`alter type "lifecycle_event_type" add value if not exists 'BATTERY_STATUS_CHANGED' after 'BATTERY_CONDITION';`);

    this.addSql(`alter table "battery_unit" add constraint "battery_unit_passport_id_foreign" foreign key ("passport_id") references "passport" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "battery_unit" add constraint "battery_unit_predecessor_id_foreign" foreign key ("predecessor_id") references "passport" ("id") on delete set null;`);
    this.addSql(`alter table "battery_unit" add constraint "battery_unit_successor_id_foreign" foreign key ("successor_id") references "passport" ("id") on delete set null;`);
    this.addSql(`alter table "battery_unit" add constraint "battery_unit_operator_id_foreign" foreign key ("operator_id") references "organization" ("id") on delete set null;`);

    this.addSql(`alter table "battery_model" add constraint "battery_model_model_id_foreign" foreign key ("model_id") references "product_model" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "battery_unit" cascade;`);
    this.addSql(`drop table if exists "battery_model" cascade;`);

    this.addSql(`drop type "battery_status";`);
    this.addSql(`drop type "battery_category";`);
  }

}

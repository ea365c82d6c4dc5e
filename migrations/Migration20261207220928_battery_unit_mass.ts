import { Migration } from '@mikro-orm/migrations';

export class Migration20261207220928_battery_unit_mass extends Migration {

  override name = 'Migration20261207220928_battery_unit_mass';

  override up(): void | Promise<void> {
    this.addSql(`create table "battery_unit_mass" ("passport_id" uuid not null, "mass_kg" double precision not null, primary key ("passport_id"));`);
    this.addSql(`alter table "battery_unit_mass" add constraint "battery_unit_mass_passport_id_foreign" foreign key ("passport_id") references "passport" ("id") on update cascade on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "battery_unit_mass" cascade;`);
  }

}

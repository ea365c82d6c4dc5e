import { Migration } from '@mikro-orm/migrations';

export class Migration20261124232818_mint_costs extends Migration {

  override name = 'Migration20261124232818_mint_costs';

  override up(): void | Promise<void> {
    this.addSql(`alter table "passport" drop constraint "passport_brand_id_foreign";`);
    this.addSql(`alter table "passport" drop constraint "passport_model_id_foreign";`);

    this.addSql(`alter table "lifecycle_event" drop constraint "lifecycle_event_actor_id_foreign";`);
    this.addSql(`alter table "lifecycle_event" drop constraint "lifecycle_event_passport_id_foreign";`);

    this.addSql(`create or replace function "passport_passport_never_deleted_fn"() returns trigger as \$\$ begin raise exception 'passport rows are never deleted'; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "passport_never_deleted" BEFORE DELETE on "passport" for each ROW execute function "passport_passport_never_deleted_fn"();`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "lifecycle_event" add constraint "lifecycle_event_actor_id_foreign" foreign key ("actor_id") references "organization" ("id") on update no action on delete no action;`);
    this.addSql(`alter table "lifecycle_event" add constraint "lifecycle_event_passport_id_foreign" foreign key ("passport_id") references "passport" ("id") on update no action on delete no action;`);

    this.addSql(`drop trigger if exists "passport_never_deleted" on "passport";`);
    this.addSql(`drop function if exists "passport_passport_never_deleted_fn"();`);
    this.addSql(`alter table "passport" add constraint "passport_brand_id_foreign" foreign key ("brand_id") references "organization" ("id") on update no action on delete no action;`);
    this.addSql(`alter table "passport" add constraint "passport_model_id_foreign" foreign key ("model_id") references "product_model" ("id") on update no action on delete no action;`);
  }

}

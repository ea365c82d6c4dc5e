import { Migration } from '@mikro-orm/migrations';

export class Migration20261124221033_mint_costs extends Migration {

  override name = 'Migration20261124221033_mint_costs';

  override up(): void | Promise<void> {
    this.addSql(`alter table "passport" drop constraint "passport_brand_id_foreign";`);
    this.addSql(`alter table "passport" drop constraint "passport_model_id_foreign";`);

    this.addSql(`alter table "lifecycle_event" drop constraint "lifecycle_event_actor_id_foreign";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "lifecycle_event" add constraint "lifecycle_event_actor_id_foreign" foreign key ("actor_id") references "organization" ("id") on update no action on delete no action;`);

    this.addSql(`alter table "passport" add constraint "passport_brand_id_foreign" foreign key ("brand_id") references "organization" ("id") on update no action on delete no action;`);
    this.addSql(`alter table "passport" add constraint "passport_model_id_foreign" foreign key ("model_id") references "product_model" ("id") on update no action on delete no action;`);
  }

}

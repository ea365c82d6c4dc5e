import { Migration } from '@mikro-orm/migrations';

export class Migration20261207172054_open_warranty_claim extends Migration {

  override name = 'Migration20261207172054_open_warranty_claim';

  override up(): void | Promise<void> {
    // Duplicates filed before the index existed would stop it being built: the oldest OPEN claim per unit
    // and issue stays open, later ones are rejected with a note naming it (visible to the brand).
    this.addSql(`update "warranty_claim" c set "status" = 'REJECTED', "decided_at" = now(), "decision_note" = 'Duplicate of open claim ' || f.id
      from (select distinct on ("passport_id", "issue_key") "id", "passport_id", "issue_key" from "warranty_claim" where "status" = 'OPEN' order by "passport_id", "issue_key", "id") f
      where c."status" = 'OPEN' and c."passport_id" = f."passport_id" and c."issue_key" = f."issue_key" and c."id" <> f."id";`);
    this.addSql(`create unique index "warranty_claim_one_open_per_issue" on "warranty_claim" ("passport_id", "issue_key") where status = 'OPEN';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "warranty_claim_one_open_per_issue";`);
  }

}

import { Migration } from '@mikro-orm/migrations';

export class Migration20261208010337_transparency_log extends Migration {

  override name = 'Migration20261208010337_transparency_log';

  override up(): void | Promise<void> {
    this.addSql(`create table "log_checkpoint" ("tree_size" bigint not null, "root_hash" bytea not null, "note" text not null, "created_at" timestamptz not null, primary key ("tree_size"));`);

    this.addSql(`create table "log_leaf" ("event_id" uuid not null, "leaf_index" bigint not null, primary key ("event_id"));`);
    this.addSql(`alter table "log_leaf" add constraint "log_leaf_leaf_index_unique" unique ("leaf_index");`);

    this.addSql(`create table "log_pending" ("id" bigserial primary key, "event_ids" text not null, "event_hashes" text not null);`);

    this.addSql(`create table "log_state" ("id" smallint not null, "tree_size" bigint not null, "frontier" bytea not null, "updated_at" timestamptz not null, primary key ("id"));`);

    this.addSql(`create table "log_tile" ("level" smallint not null, "idx" bigint not null, "hashes" bytea not null, primary key ("level", "idx"));`);

    // Written by hand: the packed ids and hashes are stored as given (random hex compresses poorly, and
    // compressing it would be work inside the writing transaction); the empty tree; every event recorded
    // before the log existed, queued in recording order (each unit's chain in seq order), 10,000 a row.
    this.addSql(`alter table "log_pending" alter column "event_ids" set storage external;`);
    this.addSql(`alter table "log_pending" alter column "event_hashes" set storage external;`);
    this.addSql(`insert into "log_state" ("id", "tree_size", "frontier", "updated_at") values (1, 0, '\\x', now());`);
    this.addSql(`insert into "log_pending" ("event_ids", "event_hashes") select string_agg(id::text, chr(31) order by n), string_agg(hash, chr(31) order by n) from (select id, hash, row_number() over (order by recorded_at, passport_id, seq) as n from "lifecycle_event") e group by (n - 1) / 10000 order by (n - 1) / 10000;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "log_checkpoint" cascade;`);
    this.addSql(`drop table if exists "log_leaf" cascade;`);
    this.addSql(`drop table if exists "log_pending" cascade;`);
    this.addSql(`drop table if exists "log_state" cascade;`);
    this.addSql(`drop table if exists "log_tile" cascade;`);
  }

}

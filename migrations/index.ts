import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124194530_foundation } from './Migration20261124194530_foundation.js';
import { Migration20261124195422_passports } from './Migration20261124195422_passports.js';
import { Migration20261124202627_lifecycle } from './Migration20261124202627_lifecycle.js';
import { Migration20261124210158_scans } from './Migration20261124210158_scans.js';
import { Migration20261124220206_nfc_tags } from './Migration20261124220206_nfc_tags.js';
import { Migration20261124221406_owners } from './Migration20261124221406_owners.js';
import { Migration20261124232818_mint_costs } from './Migration20261124232818_mint_costs.js';
import { Migration20261125004600_scan_seq } from './Migration20261125004600_scan_seq.js';
import { Migration20261125035505_probe_time } from './Migration20261125035505_probe_time.js';
import { Migration20261207171727_status_lists } from './Migration20261207171727_status_lists.js';
import { Migration20261207172016_outbox_announced } from './Migration20261207172016_outbox_announced.js';
import { Migration20261207172054_open_warranty_claim } from './Migration20261207172054_open_warranty_claim.js';
import { Migration20261207172255_identity_links } from './Migration20261207172255_identity_links.js';
import { Migration20261207173016_custody_event_id } from './Migration20261207173016_custody_event_id.js';
import { Migration20261207180321_batteries } from './Migration20261207180321_batteries.js';
import { Migration20261207181657_privacy } from './Migration20261207181657_privacy.js';
import { Migration20261207214609_webhook_endpoints } from './Migration20261207214609_webhook_endpoints.js';
import { Migration20261207220928_battery_unit_mass } from './Migration20261207220928_battery_unit_mass.js';
import { Migration20261207221818_webhook_deliveries } from './Migration20261207221818_webhook_deliveries.js';
import { Migration20261208010337_transparency_log } from './Migration20261208010337_transparency_log.js';

/** Every migration in order. Files are generated (`npm run migration:create`) and never edited once landed. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261124194530_foundation', class: Migration20261124194530_foundation },
  { name: 'Migration20261124195422_passports', class: Migration20261124195422_passports },
  { name: 'Migration20261124202627_lifecycle', class: Migration20261124202627_lifecycle },
  { name: 'Migration20261124210158_scans', class: Migration20261124210158_scans },
  { name: 'Migration20261124220206_nfc_tags', class: Migration20261124220206_nfc_tags },
  { name: 'Migration20261124221406_owners', class: Migration20261124221406_owners },
  { name: 'Migration20261124232818_mint_costs', class: Migration20261124232818_mint_costs },
  { name: 'Migration20261125004600_scan_seq', class: Migration20261125004600_scan_seq },
  { name: 'Migration20261125035505_probe_time', class: Migration20261125035505_probe_time },
  { name: 'Migration20261207171727_status_lists', class: Migration20261207171727_status_lists },
  { name: 'Migration20261207172016_outbox_announced', class: Migration20261207172016_outbox_announced },
  { name: 'Migration20261207172054_open_warranty_claim', class: Migration20261207172054_open_warranty_claim },
  { name: 'Migration20261207172255_identity_links', class: Migration20261207172255_identity_links },
  { name: 'Migration20261207173016_custody_event_id', class: Migration20261207173016_custody_event_id },
  { name: 'Migration20261207180321_batteries', class: Migration20261207180321_batteries },
  { name: 'Migration20261207181657_privacy', class: Migration20261207181657_privacy },
  { name: 'Migration20261207214609_webhook_endpoints', class: Migration20261207214609_webhook_endpoints },
  { name: 'Migration20261207220928_battery_unit_mass', class: Migration20261207220928_battery_unit_mass },
  { name: 'Migration20261207221818_webhook_deliveries', class: Migration20261207221818_webhook_deliveries },
  { name: 'Migration20261208010337_transparency_log', class: Migration20261208010337_transparency_log },
];

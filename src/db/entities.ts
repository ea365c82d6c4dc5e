import { ApiKey, Organization } from '../modules/organizations/organization.entity.js';

/** Every entity the ORM knows; features add theirs here. */
export const entities = [Organization, ApiKey];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Row ids are UUIDs; anything else cannot name a row, so services answer NOT_FOUND without asking the database. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

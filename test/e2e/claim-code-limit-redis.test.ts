import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLAIM_CODE_ATTEMPTS_PER_HOUR } from '../../src/modules/ownership/ownership.service.js';
import { ClaimOwnershipDocument } from '../documents/ownership.js';
import { assertionFor, brandWithModel, codeOf, type Owner, reasonOf, registerOwner, sell } from '../support/owners.js';
import { redisFor } from '../support/requires.js';
import { startTestServer, type TestServer } from '../support/server.js';

// With REDIS_URL the wrong-claim-code budget of a unit lives in Redis, shared by every replica.
// Skipped with one line when no Redis answers; a failure under CI (see support/requires.ts).
const REDIS = await redisFor('the Redis claim-code limit tests (test/e2e/claim-code-limit-redis.test.ts)');
const REDIS_URL = REDIS ?? '';
const keyOf = (passportId: string) => `dpp:rl:claim-code:${passportId}`;

let s: TestServer;
let redis: Redis;
let brand: Awaited<ReturnType<typeof brandWithModel>>;
let owner: Owner;
const keys: string[] = [];

beforeAll(async () => {
  s = await startTestServer({ REDIS_URL });
  redis = new Redis(REDIS_URL);
  brand = await brandWithModel(s, { prefix: '0614141', item: '77701' });
  owner = await registerOwner(s);
});
afterAll(async () => {
  if (keys.length) await redis?.del(...keys);
  redis?.disconnect();
  await s?.stop();
});

async function soldUnit() {
  const [unit] = await brand.mint(1);
  await sell(s, unit!.id);
  keys.push(keyOf(unit!.id));
  return unit!;
}

async function claim(unit: { id: string }, claimCode: string) {
  const { assertion } = await assertionFor(s, owner, 'CLAIM_OWNERSHIP', unit.id);
  return s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode, assertion }, owner.token);
}

it.skipIf(!REDIS)('counts wrong claim codes in Redis, so attempts on other replicas count too', async () => {
  const unit = await soldUnit();
  for (let i = 1; i < CLAIM_CODE_ATTEMPTS_PER_HOUR; i++) expect(reasonOf(await claim(unit, 'AAAA-AAAA-AAAA-AAAA'))).toBe('WRONG_CLAIM_CODE');
  expect(await redis.get(keyOf(unit.id))).toBe(String(CLAIM_CODE_ATTEMPTS_PER_HOUR - 1));
  expect(await redis.pttl(keyOf(unit.id))).toBeGreaterThan(3_500_000);
  expect(codeOf(await claim(unit, 'AAAA-AAAA-AAAA-AAAB'))).toBe('RATE_LIMITED');

  // Another replica spent this unit's budget: the right code is refused here too.
  const other = await soldUnit();
  await redis.set(keyOf(other.id), String(CLAIM_CODE_ATTEMPTS_PER_HOUR), 'EX', 3600);
  expect(codeOf(await claim(other, other.claimCode))).toBe('RATE_LIMITED');
});

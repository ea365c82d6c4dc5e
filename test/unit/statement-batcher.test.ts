import { describe, expect, it } from 'vitest';
import { statementBatcher } from '../../src/db/batch.js';

/** A fake statement that records each batch it ran and answers after `ms`. */
function recorder(ms = 5, fail?: (item: number) => boolean) {
  const batches: number[][] = [];
  let running = 0;
  let mostAtOnce = 0;
  const run = async (items: readonly number[]) => {
    batches.push([...items]);
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    await new Promise((r) => setTimeout(r, ms));
    running--;
    if (fail && items.some(fail)) throw new Error(`batch of ${items.length} failed`);
    return items.map((i) => i * 10);
  };
  return { run, batches, mostAtOnce: () => mostAtOnce };
}

describe('statementBatcher', () => {
  it('runs a lone call alone and at once, in order of results', async () => {
    const r = recorder();
    const call = statementBatcher(r.run, { maxInFlight: 2, maxBatch: 100 });
    expect(await call(7)).toBe(70);
    expect(r.batches).toEqual([[7]]);
  });

  it('answers each of 200 concurrent calls with its own result, in few batches, never more than maxInFlight at once', async () => {
    const r = recorder();
    const call = statementBatcher(r.run, { maxInFlight: 2, maxBatch: 100 });
    const items = Array.from({ length: 200 }, (_, i) => i);
    expect(await Promise.all(items.map(call))).toEqual(items.map((i) => i * 10));
    expect(r.batches.flat().sort((a, b) => a - b)).toEqual(items);
    expect(r.batches.length).toBeLessThanOrEqual(4);
    expect(r.mostAtOnce()).toBeLessThanOrEqual(2);
    expect(Math.max(...r.batches.map((b) => b.length))).toBeLessThanOrEqual(100);
  });

  it('batches calls that arrive while every slot is busy', async () => {
    const r = recorder(20);
    const call = statementBatcher(r.run, { maxInFlight: 1, maxBatch: 100 });
    const first = call(1);
    await new Promise((res) => setImmediate(res)); // the first batch is running
    const later = [2, 3, 4, 5].map(call);
    expect(await Promise.all([first, ...later])).toEqual([10, 20, 30, 40, 50]);
    expect(r.batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  it('fails only the item that fails: a failed batch is retried item by item', async () => {
    const r = recorder(1, (i) => i === 3);
    const call = statementBatcher(r.run, { maxInFlight: 1, maxBatch: 100 });
    const first = call(0);
    await new Promise((res) => setImmediate(res));
    const results = await Promise.allSettled([first, ...[1, 2, 3, 4].map(call)]);
    expect(results.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message))).toEqual([0, 10, 20, 'batch of 1 failed', 40]);
  });

  it('refuses a run that answers the wrong number of results, for every item', async () => {
    const call = statementBatcher(async (items: readonly number[]) => items.slice(1), { maxInFlight: 1, maxBatch: 10 });
    const results = await Promise.allSettled([call(1), call(2)]);
    expect(results.every((x) => x.status === 'rejected')).toBe(true);
  });
});

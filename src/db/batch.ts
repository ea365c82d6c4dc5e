import DataLoader from 'dataloader';

export type BatcherOptions = {
  /** Batches running at once; a call made while all are busy joins the next batch. */
  maxInFlight: number;
  /** Calls per batch at most. */
  maxBatch: number;
};

/**
 * Many concurrent calls of one statement as few statements (DataLoader, without its cache). A call made
 * while a batch slot is free runs at the end of this turn of the event loop, with whatever other calls
 * that turn made; calls made while every slot is busy wait together and run as one batch when a slot
 * frees. Light load adds no wait; heavy load turns N round trips, N statements and N commits into one.
 *
 * `run` answers one result per item, in order. A batch that fails is retried item by item, so one
 * item's error fails that item only: `run` must be safe to retry (a read, or one atomic statement that
 * wrote nothing when it failed).
 */
export function statementBatcher<I, R>(run: (items: readonly I[]) => Promise<R[]>, options: BatcherOptions): (item: I) => Promise<R> {
  let inFlight = 0;
  const waiting: (() => void)[] = [];

  const runSplitting = async (items: readonly I[]): Promise<(R | Error)[]> => {
    try {
      const results = await run(items);
      if (results.length !== items.length) throw new Error(`statementBatcher: ${results.length} results for ${items.length} items`);
      return results;
    } catch (e) {
      if (items.length === 1) return [e instanceof Error ? e : new Error(String(e))];
      return Promise.all(items.map(async (item) => (await runSplitting([item]))[0]!));
    }
  };

  const loader = new DataLoader<I, R>(
    async (items) => {
      try {
        return await runSplitting(items);
      } finally {
        inFlight--;
        const next = waiting.shift();
        if (next) {
          inFlight++;
          next();
        }
      }
    },
    {
      cache: false,
      maxBatchSize: options.maxBatch,
      batchScheduleFn: (dispatch) => {
        if (inFlight < options.maxInFlight) {
          inFlight++;
          setImmediate(dispatch);
        } else {
          waiting.push(dispatch);
        }
      },
    },
  );
  return (item) => loader.load(item);
}

import type { Viewer } from '../../context/viewer.js';

/** What a valid API key resolves to. */
export type OrganizationViewer = Extract<Viewer, { kind: 'ORGANIZATION' }>;

type Entry = { viewer: OrganizationViewer; expiresAt: number };

export type ApiKeyCacheOptions = {
  /** How long an entry may be served without asking the database again; 0 disables the cache. */
  ttlMs: number;
  /** Beyond this many entries the oldest is dropped. */
  maxEntries?: number;
  now?: () => number;
};

/**
 * Successful API-key lookups of this process, by secret hash (never the secret itself).
 *
 * Revocation evicts: locally after the revoking commit, on other replicas when PostgreSQL delivers the
 * `dpp_api_key_revoked` notification (see api-key-listener.ts). Every eviction bumps a generation; a lookup
 * takes a {@link ticket} before its SELECT and {@link store} refuses it once the generation has moved, so a
 * lookup that saw a key valid just before its revocation cannot put it back after the eviction. While
 * the notification connection is down the cache is switched off ({@link setListening}): nothing is
 * served or stored. The TTL bounds whatever a lost notification could leave behind.
 */
export class ApiKeyCache {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly #now: () => number;
  /** Insertion order is age order: the first key is the oldest. */
  readonly #entries = new Map<string, Entry>();
  readonly #hashByKeyId = new Map<string, string>();
  #generation = 0;
  #listening = true;

  constructor(options: ApiKeyCacheOptions) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** True when entries are served and stored: a TTL is set and revocations can reach this process. */
  get enabled(): boolean {
    return this.ttlMs > 0 && this.#listening;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(secretHash: string): OrganizationViewer | undefined {
    if (!this.enabled) return undefined;
    const entry = this.#entries.get(secretHash);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#remove(secretHash, entry.viewer.apiKeyId);
      return undefined;
    }
    return entry.viewer;
  }

  /** Taken before the database lookup and handed to {@link store}; undefined while caching is off. */
  ticket(): number | undefined {
    return this.enabled ? this.#generation : undefined;
  }

  /** Keeps a lookup's result unless an eviction (or a switch off and on) happened since its ticket. */
  store(secretHash: string, viewer: OrganizationViewer, ticket: number | undefined): boolean {
    if (ticket === undefined || ticket !== this.#generation || !this.enabled) return false;
    const previous = this.#entries.get(secretHash);
    if (previous) this.#remove(secretHash, previous.viewer.apiKeyId);
    this.#entries.set(secretHash, { viewer: Object.freeze({ ...viewer }), expiresAt: this.#now() + this.ttlMs });
    this.#hashByKeyId.set(viewer.apiKeyId, secretHash);
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#remove(oldest, entry.viewer.apiKeyId);
    }
    return true;
  }

  /** Forgets one key (revoked here or elsewhere); lookups in flight for any key will not store. */
  evictKey(apiKeyId: string): void {
    this.#generation++;
    const hash = this.#hashByKeyId.get(apiKeyId);
    if (hash !== undefined) this.#remove(hash, apiKeyId);
  }

  clear(): void {
    this.#generation++;
    this.#entries.clear();
    this.#hashByKeyId.clear();
  }

  /**
   * Whether revocations from other processes can reach this one. Off clears the cache and bypasses it;
   * back on starts empty, and lookups begun before (which may have missed a notification) do not store.
   */
  setListening(listening: boolean): void {
    if (listening === this.#listening) return;
    this.#listening = listening;
    this.clear();
  }

  #remove(secretHash: string, apiKeyId: string): void {
    this.#entries.delete(secretHash);
    if (this.#hashByKeyId.get(apiKeyId) === secretHash) this.#hashByKeyId.delete(apiKeyId);
  }
}

import { hash as digest } from 'node:crypto';

export const HASH_SIZE = 32;
export type Hash = Buffer;

/**
 * The Merkle tree of RFC 9162 §2.1 (the tree of RFC 6962, Certificate Transparency): SHA-256, leaves
 * hashed as SHA-256(0x00 || data), interior nodes as SHA-256(0x01 || left || right), a tree of n leaves
 * split at k, the largest power of two smaller than n. Pure functions over hashes in memory; where the
 * hashes live (the log's tiles, a test's array) is the caller's business, behind a {@link NodeSource}.
 */

const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);
// Scratch inputs for the common 32-byte case (the sequencer hashes two of these per leaf): no allocation per hash.
const leafInput = Buffer.alloc(1 + HASH_SIZE, 0);
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE, 1);

/** SHA-256(0x00 || data): the hash of one leaf. */
export function leafHash(data: Uint8Array): Hash {
  if (data.length !== HASH_SIZE) return digest('sha256', Buffer.concat([LEAF_PREFIX, data]), 'buffer');
  leafInput.set(data, 1);
  return digest('sha256', leafInput, 'buffer');
}

/** SHA-256(0x01 || left || right): the hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) return digest('sha256', Buffer.concat([NODE_PREFIX, left, right]), 'buffer');
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return digest('sha256', nodeInput, 'buffer');
}

/** The root of the empty tree: SHA-256 of nothing (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Hash = digest('sha256', Buffer.alloc(0), 'buffer');

function assertSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what}: a non-negative integer`);
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A complete (perfect) subtree of the log: height `level`, covering leaves [index·2^level, (index+1)·2^level). */
export type NodeId = { level: number; index: number };

/** Where complete subtrees' hashes come from (a tiled store, an array of leaf hashes). */
export type NodeSource = (node: NodeId) => Hash;

const isPowerOfTwo = (n: number) => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/** The complete subtrees whose hashes {@link rangeHash} needs for MTH(D[lo:hi]), left to right. */
export function rangeNodes(lo: number, hi: number, out: NodeId[] = []): NodeId[] {
  const n = hi - lo;
  if (n <= 0) throw new RangeError('rangeNodes: an empty range');
  if (isPowerOfTwo(n) && lo % n === 0) {
    out.push({ level: Math.log2(n), index: lo / n });
    return out;
  }
  const k = splitPoint(n);
  rangeNodes(lo, lo + k, out);
  return rangeNodes(lo + k, hi, out);
}

/** MTH(D[lo:hi]) (RFC 9162 §2.1.1, applied to the leaves lo…hi-1), from complete subtrees only. */
export function rangeHash(lo: number, hi: number, get: NodeSource): Hash {
  const n = hi - lo;
  if (n <= 0) throw new RangeError('rangeHash: an empty range');
  if (isPowerOfTwo(n) && lo % n === 0) return get({ level: Math.log2(n), index: lo / n });
  const k = splitPoint(n);
  return nodeHash(rangeHash(lo, lo + k, get), rangeHash(lo + k, hi, get));
}

/** A leaf range [lo, hi): one element of a proof is MTH(D[lo:hi]). */
export type Range = readonly [lo: number, hi: number];

/** PATH(m, D[n]) of RFC 9162 §2.1.3.1 as the ranges whose hashes make the inclusion proof, leaf side first. */
export function inclusionRanges(index: number, size: number): Range[] {
  assertSize(index, 'leaf index');
  assertSize(size, 'tree size');
  if (index >= size) throw new RangeError(`leaf index ${index} is not in a tree of size ${size}`);
  const path = (lo: number, hi: number): Range[] => {
    if (hi - lo <= 1) return [];
    const k = splitPoint(hi - lo);
    return index < lo + k ? [...path(lo, lo + k), [lo + k, hi]] : [...path(lo + k, hi), [lo, lo + k]];
  };
  return path(0, size);
}

/** PROOF(m, D[n]) of RFC 9162 §2.1.4.1 as ranges (empty when m is 0 or m = n). */
export function consistencyRanges(m: number, n: number): Range[] {
  assertSize(m, 'first tree size');
  assertSize(n, 'second tree size');
  if (m > n) throw new RangeError(`tree size ${m} is larger than ${n}`);
  if (m === 0 || m === n) return [];
  const subproof = (lo: number, hi: number, complete: boolean): Range[] => {
    if (m === hi) return complete ? [] : [[lo, hi]];
    const k = splitPoint(hi - lo);
    return m <= lo + k ? [...subproof(lo, lo + k, complete), [lo + k, hi]] : [...subproof(lo + k, hi, false), [lo, lo + k]];
  };
  return subproof(0, n, true);
}

/** Every complete subtree a list of proof ranges needs, deduplicated: what a store must read for one proof. */
export function nodesFor(ranges: readonly Range[]): NodeId[] {
  const seen = new Map<string, NodeId>();
  for (const [lo, hi] of ranges) for (const node of rangeNodes(lo, hi)) seen.set(`${node.level}/${node.index}`, node);
  return [...seen.values()];
}

/** The inclusion proof for leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1). */
export function inclusionProof(index: number, size: number, get: NodeSource): Hash[] {
  return inclusionRanges(index, size).map(([lo, hi]) => rangeHash(lo, hi, get));
}

/** The consistency proof between the trees of m and n leaves (RFC 9162 §2.1.4.1). */
export function consistencyProof(m: number, n: number, get: NodeSource): Hash[] {
  return consistencyRanges(m, n).map(([lo, hi]) => rangeHash(lo, hi, get));
}

/** The root of the tree of `size` leaves. */
export function treeRoot(size: number, get: NodeSource): Hash {
  assertSize(size, 'tree size');
  return size === 0 ? EMPTY_ROOT : rangeHash(0, size, get);
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;
const isHash = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === HASH_SIZE;

/**
 * The root an inclusion proof leads to, by the algorithm of RFC 9162 §2.1.3.2; null when the proof
 * cannot be one for this index and size (too long, too short, malformed).
 */
export function rootFromInclusionProof(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Hash | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  if (!isHash(leaf) || !proof.every(isHash)) return null;
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

/** Whether `proof` shows that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root` (RFC 9162 §2.1.3.2). */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  return computed !== null && isHash(root) && equal(computed, root);
}

/**
 * Whether `proof` shows that the tree of n leaves with root `newRoot` extends the tree of m leaves with
 * root `oldRoot` (RFC 9162 §2.1.4.2). Equal sizes need equal roots and an empty proof; the empty tree
 * is extended by every tree (empty proof).
 */
export function verifyConsistency(m: number, n: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 0 || m > n) return false;
  if (!isHash(oldRoot) || !isHash(newRoot) || !proof.every(isHash)) return false;
  if (m === n) return proof.length === 0 && equal(oldRoot, newRoot);
  if (m === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(m) ? [oldRoot, ...proof] : [...proof];
  let fn = BigInt(m - 1);
  let sn = BigInt(n - 1);
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(fr, oldRoot) && equal(sr, newRoot);
}

/**
 * The right edge of a growing tree: the complete subtrees of the tree so far, largest first (the same
 * nodes as `rangeNodes(0, size)`). Appending a leaf merges equal-sized neighbours, so an append costs one
 * hash amortised, and every subtree completed on the way is reported to `onNode` (for tiles).
 */
export class Frontier {
  private constructor(
    private size_: number,
    private readonly nodes: { level: number; hash: Hash }[],
  ) {}

  static empty(): Frontier {
    return new Frontier(0, []);
  }

  /** The frontier of a tree of `size` leaves from its complete subtrees' hashes (as {@link encode} wrote them). */
  static decode(size: number, packed: Uint8Array): Frontier {
    const ids = size === 0 ? [] : rangeNodes(0, size);
    if (packed.length !== ids.length * HASH_SIZE) throw new Error(`frontier of ${size} leaves needs ${ids.length} hashes, got ${packed.length / HASH_SIZE}`);
    return new Frontier(
      size,
      ids.map((id, i) => ({ level: id.level, hash: Buffer.from(packed.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)) })),
    );
  }

  get size(): number {
    return this.size_;
  }

  encode(): Buffer {
    return Buffer.concat(this.nodes.map((n) => n.hash));
  }

  /** Appends one leaf hash; `onNode` hears of the leaf itself (level 0) and of every subtree it completes. */
  append(leaf: Hash, onNode?: (node: NodeId, hash: Hash) => void): void {
    const index = this.size_;
    onNode?.({ level: 0, index }, leaf);
    let hash = leaf;
    let level = 0;
    while (this.nodes.length > 0 && this.nodes[this.nodes.length - 1]!.level === level) {
      const left = this.nodes.pop()!;
      hash = nodeHash(left.hash, hash);
      level++;
      onNode?.({ level, index: index >> level }, hash);
    }
    this.nodes.push({ level, hash });
    this.size_++;
  }

  /** The root of the tree so far. */
  root(): Hash {
    if (this.nodes.length === 0) return EMPTY_ROOT;
    let r = this.nodes[this.nodes.length - 1]!.hash;
    for (let i = this.nodes.length - 2; i >= 0; i--) r = nodeHash(this.nodes[i]!.hash, r);
    return r;
  }
}

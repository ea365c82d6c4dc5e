import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_ROOT,
  Frontier,
  type Hash,
  inclusionProof,
  leafHash,
  type NodeId,
  rangeHash,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../src/crypto/merkle.js';

/*
 * Reference data: the Certificate Transparency test vectors, as published in transparency-dev/merkle
 * `proof/verify_test.go` (github.com/transparency-dev/merkle, Apache-2.0; carried over from the CT C++
 * reference implementation's merkle_tree_test.cc): the eight leaves, the roots of the trees of sizes
 * 1 to 8, and the inclusion and consistency proofs listed there. Leaf numbers in the inclusion vectors
 * are 1-based there; the indexes below are 0-based.
 */
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION = [
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 1, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];
const CONSISTENCY = [
  { m: 1, n: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { m: 6, n: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { m: 2, n: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { m: 6, n: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];

// The RFC 9162 §2.1 definitions, written out naively over a list of leaf hashes (no shared code).
const sha = (...parts: Uint8Array[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const k2 = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function mth(d: Hash[]): Hash {
  if (d.length === 0) return sha();
  if (d.length === 1) return d[0]!;
  const k = k2(d.length);
  return sha(Buffer.from([1]), mth(d.slice(0, k)), mth(d.slice(k)));
}
function path(m: number, d: Hash[]): Hash[] {
  if (d.length <= 1) return [];
  const k = k2(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function subproof(m: number, d: Hash[], b: boolean): Hash[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = k2(d.length);
  return m <= k ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))] : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}
const proofOf = (m: number, d: Hash[]) => (m === 0 || m === d.length ? [] : subproof(m, d, true));

/** A node source over leaf hashes in memory: a complete subtree's hash, recomputed. */
const sourceOf = (leaves: Hash[]) => (node: NodeId) => mth(leaves.slice(node.index << node.level, (node.index + 1) << node.level));
const hex = (hs: Hash[]) => hs.map((h) => h.toString('hex'));
const flip = (h: Hash) => {
  const c = Buffer.from(h);
  c[0] ^= 8;
  return c;
};

const leafHashes = LEAVES.map(leafHash);

describe('RFC 9162 Merkle tree: CT reference vectors', () => {
  it('reproduces the reference roots of trees of 1 to 8 leaves, and the empty root', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (let n = 1; n <= 8; n++) {
      expect(treeRoot(n, sourceOf(leafHashes)).toString('hex')).toBe(ROOTS[n - 1]);
      const f = Frontier.empty();
      for (const h of leafHashes.slice(0, n)) f.append(h);
      expect(f.root().toString('hex')).toBe(ROOTS[n - 1]);
    }
  });

  it('produces the published inclusion and consistency proofs exactly', () => {
    for (const v of INCLUSION) {
      const proof = inclusionProof(v.index, v.size, sourceOf(leafHashes.slice(0, v.size)));
      expect(hex(proof)).toEqual(v.proof);
      expect(verifyInclusion(v.index, v.size, leafHashes[v.index]!, proof, Buffer.from(ROOTS[v.size - 1]!, 'hex'))).toBe(true);
    }
    for (const v of CONSISTENCY) {
      const proof = consistencyProof(v.m, v.n, sourceOf(leafHashes.slice(0, v.n)));
      expect(hex(proof)).toEqual(v.proof);
      expect(verifyConsistency(v.m, v.n, Buffer.from(ROOTS[v.m - 1]!, 'hex'), Buffer.from(ROOTS[v.n - 1]!, 'hex'), proof)).toBe(true);
    }
  });

  it('proves and verifies every leaf of every tree up to 8 leaves, and refuses altered proofs', () => {
    for (let size = 1; size <= 8; size++) {
      const root = Buffer.from(ROOTS[size - 1]!, 'hex');
      for (let i = 0; i < size; i++) {
        const proof = inclusionProof(i, size, sourceOf(leafHashes.slice(0, size)));
        expect(hex(proof)).toEqual(hex(path(i, leafHashes.slice(0, size))));
        expect(verifyInclusion(i, size, leafHashes[i]!, proof, root)).toBe(true);
        // Wrong index, wrong size, wrong leaf, each element altered, one dropped, one added.
        if (size > 1) expect(verifyInclusion((i + 1) % size, size, leafHashes[i]!, proof, root)).toBe(false);
        expect(verifyInclusion(i, size * 2, leafHashes[i]!, proof, root)).toBe(false);
        expect(verifyInclusion(i, Math.floor(size / 2), leafHashes[i]!, proof, root)).toBe(false);
        expect(verifyInclusion(i, size, leafHashes[(i + 1) % 8]!, proof, root)).toBe(false);
        for (let j = 0; j < proof.length; j++) expect(verifyInclusion(i, size, leafHashes[i]!, proof.map((h, x) => (x === j ? flip(h) : h)), root)).toBe(false);
        if (proof.length) expect(verifyInclusion(i, size, leafHashes[i]!, proof.slice(1), root)).toBe(false);
        expect(verifyInclusion(i, size, leafHashes[i]!, [...proof, root], root)).toBe(false);
        expect(verifyInclusion(i, size, leafHashes[i]!, proof, flip(root))).toBe(false);
      }
    }
  });

  it('proves consistency between every pair of trees up to 8 leaves, and refuses altered proofs', () => {
    for (let n = 1; n <= 8; n++) {
      for (let m = 0; m <= n; m++) {
        const oldRoot = m === 0 ? EMPTY_ROOT : Buffer.from(ROOTS[m - 1]!, 'hex');
        const newRoot = Buffer.from(ROOTS[n - 1]!, 'hex');
        const proof = consistencyProof(m, n, sourceOf(leafHashes.slice(0, n)));
        expect(hex(proof)).toEqual(hex(proofOf(m, leafHashes.slice(0, n))));
        expect(verifyConsistency(m, n, oldRoot, newRoot, proof)).toBe(true);
        if (m === 0 || m === n) continue;
        expect(verifyConsistency(m, n, newRoot, oldRoot, proof)).toBe(false);
        expect(verifyConsistency(m - 1 || m + 1, n, oldRoot, newRoot, proof)).toBe(false);
        expect(verifyConsistency(m, n * 2, oldRoot, newRoot, proof)).toBe(false);
        if (n > 2) expect(verifyConsistency(m, Math.floor(n / 2), oldRoot, newRoot, proof)).toBe(false);
        expect(verifyConsistency(m, n, oldRoot, newRoot, [])).toBe(false);
        for (let j = 0; j < proof.length; j++) expect(verifyConsistency(m, n, oldRoot, newRoot, proof.map((h, x) => (x === j ? flip(h) : h)))).toBe(false);
        expect(verifyConsistency(m, n, oldRoot, newRoot, proof.slice(0, -1))).toBe(false);
        expect(verifyConsistency(m, n, oldRoot, newRoot, [...proof, newRoot])).toBe(false);
      }
    }
    // A tree is never consistent with a smaller one, and equal sizes need equal roots.
    expect(verifyConsistency(3, 2, Buffer.from(ROOTS[2]!, 'hex'), Buffer.from(ROOTS[1]!, 'hex'), [])).toBe(false);
    expect(verifyConsistency(3, 3, Buffer.from(ROOTS[2]!, 'hex'), Buffer.from(ROOTS[3]!, 'hex'), [])).toBe(false);
  });
});

describe('RFC 9162 Merkle tree: random trees up to 10,000 leaves against a naive recomputation', () => {
  const leaves = Array.from({ length: 10_000 }, () => leafHash(randomBytes(1 + Math.floor(Math.random() * 40))));
  const rand = (n: number) => Math.floor(Math.random() * n);

  it('builds the same roots incrementally, and reports every complete subtree it finishes', () => {
    const f = Frontier.empty();
    const completed = new Map<string, Hash>();
    const checkpoints = new Set([1, 2, 3, 255, 256, 257, 1000, 4096, 4097, 9999, 10_000, ...Array.from({ length: 10 }, () => 1 + rand(10_000))]);
    for (let i = 0; i < leaves.length; i++) {
      f.append(leaves[i]!, (node, hash) => completed.set(`${node.level}/${node.index}`, hash));
      if (checkpoints.has(i + 1)) {
        expect(f.root().equals(mth(leaves.slice(0, i + 1)))).toBe(true);
        const again = Frontier.decode(f.size, f.encode());
        expect(again.root().equals(f.root())).toBe(true);
      }
    }
    // Every node the frontier reported is the naive hash of its leaves, and all of them were reported.
    expect(completed.size).toBe(countComplete(leaves.length));
    for (const key of [...completed.keys()].sort(() => Math.random() - 0.5).slice(0, 300)) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      expect(completed.get(key)!.equals(mth(leaves.slice(index << level, (index + 1) << level)))).toBe(true);
    }
  });

  it('inclusion and consistency proofs match the naive ones and verify', () => {
    // Complete subtrees as a store holds them: reported by the frontier while the tree grew.
    const nodes = new Map<string, Hash>();
    const f = Frontier.empty();
    for (const leaf of leaves) f.append(leaf, (node, hash) => nodes.set(`${node.level}/${node.index}`, hash));
    const source = (node: NodeId) => nodes.get(`${node.level}/${node.index}`)!;
    for (let t = 0; t < 12; t++) {
      const size = 1 + rand(leaves.length);
      const index = rand(size);
      const tree = leaves.slice(0, size);
      const root = mth(tree);
      const proof = inclusionProof(index, size, source);
      expect(hex(proof)).toEqual(hex(path(index, tree)));
      expect(verifyInclusion(index, size, leaves[index]!, proof, root)).toBe(true);
      expect(verifyInclusion(index, size, leaves[(index + 1) % leaves.length]!, proof, root)).toBe(false);

      const m = rand(size + 1);
      const cproof = consistencyProof(m, size, source);
      expect(hex(cproof)).toEqual(hex(proofOf(m, tree)));
      expect(verifyConsistency(m, size, m === 0 ? sha() : mth(leaves.slice(0, m)), root, cproof)).toBe(true);
      if (m > 0 && m < size) expect(verifyConsistency(m, size, mth(leaves.slice(0, m)), flip(root), cproof)).toBe(false);
      expect(rangeHash(0, size, source).equals(root)).toBe(true);
    }
  });
});

/** Complete subtrees of a tree of n leaves (every node of every perfect subtree on the left edge). */
function countComplete(n: number): number {
  let total = 0;
  for (let level = 0; 2 ** level <= n; level++) total += Math.floor(n / 2 ** level);
  return total;
}

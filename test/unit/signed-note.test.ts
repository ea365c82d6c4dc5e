import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkpointText, noteSigner, openCheckpoint, openNote, parseCheckpoint, parseVerifierKey, signNote, verifierKey } from '../../src/crypto/signed-note.js';

/*
 * The reference vector of Go's golang.org/x/mod/sumdb/note (the package c2sp.org/signed-note was
 * specified from): its signer key, verifier key, text and signed note, from the package documentation.
 */
const GO_SIGNER = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VERIFIER = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

describe('C2SP signed notes', () => {
  const seed = Buffer.from(GO_SIGNER.split('+').slice(4).join('+'), 'base64').subarray(1);

  it('signs and names keys exactly as the Go reference does', () => {
    const signer = noteSigner('PeterNeumann', seed);
    expect(verifierKey(signer)).toBe(GO_VERIFIER);
    expect(signNote(GO_TEXT, [signer])).toBe(GO_NOTE);
    expect(openNote(GO_NOTE, parseVerifierKey(GO_VERIFIER))).toBe(GO_TEXT);
  });

  it('refuses altered notes, wrong keys and malformed verifier keys; ignores unknown signers', () => {
    const v = parseVerifierKey(GO_VERIFIER);
    expect(() => openNote(GO_NOTE.replace('problem,', 'problem;'), v)).toThrow(/does not verify/);
    const other = noteSigner('Other', randomBytes(32));
    expect(() => openNote(GO_NOTE, parseVerifierKey(verifierKey(other)))).toThrow(/not signed by Other/);
    // A second signature by another key is ignored; the known one still verifies.
    const both = signNote(GO_TEXT, [other, noteSigner('PeterNeumann', seed)]);
    expect(openNote(both, v)).toBe(GO_TEXT);
    expect(() => parseVerifierKey(GO_VERIFIER.replace('c74f20a3', 'c74f20a4'))).toThrow(/does not match/);
    expect(() => parseVerifierKey('PeterNeumann+c74f20a3')).toThrow();
    // A key whose base64 holds a '+' (transparency-dev/formats' note tests).
    expect(parseVerifierKey('TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6').name).toBe('TEST');
  });

  it('writes and reads tlog checkpoints', () => {
    const signer = noteSigner('example.com/log', randomBytes(32));
    const c = { origin: 'example.com/log', treeSize: 20852163, rootHash: randomBytes(32) };
    const note = signNote(checkpointText(c), [signer]);
    expect(note.split('\n').slice(0, 3)).toEqual(['example.com/log', '20852163', c.rootHash.toString('base64')]);
    expect(openCheckpoint(note, parseVerifierKey(verifierKey(signer)))).toEqual(c);
    expect(() => parseCheckpoint('example.com/log\n012\nAAAA\n')).toThrow(/leading zeroes/);
    expect(() => parseCheckpoint(`example.com/log\n12\n${randomBytes(31).toString('base64')}\n`)).toThrow(/32 bytes/);
    const foreign = signNote(checkpointText({ ...c, origin: 'elsewhere/log' }), [signer]);
    expect(() => openCheckpoint(foreign, parseVerifierKey(verifierKey(signer)))).toThrow(/origin/);
  });
});

export * from './jcs.js';
export * from './ed25519.js';
export * from './jwk.js';
export * from './data-integrity.js';

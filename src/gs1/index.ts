export * from './gtin.js';
export * from './gln.js';
export * from './serial.js';
export * from './epc.js';
export * from './digital-link.js';

export * from './errors.js';
export * from './ports.js';
export * from './sign-guard.js';

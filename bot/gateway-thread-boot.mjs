// Starts the gateway thread from the TypeScript sources (`tsx main.ts`, the tests): a thread
// does not inherit the loader that lets the main thread import TypeScript, so it registers tsx
// itself first. The compiled build (dist/) runs gateway-thread.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./gateway-thread.ts');

import type { QueueStorage } from './index.js';
/** A JSON file as the offline queue's storage (Node only), written atomically. */
export declare function fileStorage(file: string): QueueStorage;

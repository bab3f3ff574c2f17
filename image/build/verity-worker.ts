// Worker-thread entry of image/build/verity.ts: hashes one range of data blocks into the shared
// level-0 buffer and reports back: 'done', or { code, message } of what went wrong (an error
// thrown in a worker loses its class on the way to the main thread). Started by hashLeaves with a
// LeafJob whose `leaf` is a Uint8Array over a SharedArrayBuffer (structured clone shares the memory).
import { parentPort, workerData } from 'node:worker_threads';
import { NodeimgError } from '../formats/errors.js';
import { hashLeafRange, type LeafJob } from './verity-leaves.js';

try {
  await hashLeafRange(workerData as LeafJob);
  parentPort?.postMessage('done');
} catch (err) {
  const code = NodeimgError.isInstance(err) ? err.code : 'IO_FAILED';
  parentPort?.postMessage({ code, message: err instanceof Error ? err.message : String(err) });
}

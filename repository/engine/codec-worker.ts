/** A codec worker thread (codec-pool.ts starts them): runs codec-handler.ts on each request it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { codecHandler } from './codec-handler';
import type { CodecRequest } from './codec-pool';

const { masterKey, level } = workerData as { masterKey?: Uint8Array; level: number };
const handle = codecHandler(masterKey, level);

parentPort!.on('message', (request: CodecRequest) => {
  const response = handle(request);
  parentPort!.postMessage(response, response.data ? [response.data.buffer as ArrayBuffer] : []);
});

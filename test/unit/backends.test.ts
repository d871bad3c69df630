/** The backend contract over the backends that need no server: a local directory, and memory. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalBackend } from '../../repository/storage/local';
import { MemoryBackend } from '../../repository/storage/memory';
import { backendContract } from '../contracts/backend';

backendContract(
  'local',
  async () => new LocalBackend(mkdtempSync(path.join(os.tmpdir(), 'lazarus-backend-'))),
);
backendContract('memory', async () => new MemoryBackend());

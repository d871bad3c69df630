/**
 * Where the Temporal server is and how to reach it: the local dev server by default,
 * any cluster (Temporal Cloud included) through the standard environment variables.
 */
import { readFileSync } from 'node:fs';
import { Client, Connection, ConnectionOptions } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { UserError } from '../model/errors';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  tls?: ConnectionOptions['tls'];
  apiKey?: string;
}

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TASK_QUEUE = 'lazarus';

export function settingsFromEnv(overrides: Partial<TemporalSettings> = {}): TemporalSettings {
  const env = process.env;
  return {
    address: overrides.address ?? env.TEMPORAL_ADDRESS ?? DEFAULT_ADDRESS,
    namespace: overrides.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: overrides.taskQueue ?? env.LAZARUS_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    tls: overrides.tls ?? tlsFromEnv(),
    apiKey: overrides.apiKey ?? env.TEMPORAL_API_KEY,
  };
}

function tlsFromEnv(): ConnectionOptions['tls'] {
  const { TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS } =
    process.env;
  if (!TEMPORAL_TLS_CERT && !TEMPORAL_TLS_CA && TEMPORAL_TLS !== 'true') return undefined;
  const read = (file: string | undefined, name: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch {
      throw new UserError(`${name}=${file}: cannot read the file`);
    }
  };
  const crt = read(TEMPORAL_TLS_CERT, 'TEMPORAL_TLS_CERT');
  const key = read(TEMPORAL_TLS_KEY, 'TEMPORAL_TLS_KEY');
  return {
    serverNameOverride: TEMPORAL_TLS_SERVER_NAME,
    serverRootCACertificate: read(TEMPORAL_TLS_CA, 'TEMPORAL_TLS_CA'),
    clientCertPair: crt && key ? { crt, key } : undefined,
  };
}

function connectionOptions(settings: TemporalSettings) {
  return {
    address: settings.address,
    tls: settings.apiKey ? (settings.tls ?? true) : settings.tls,
    apiKey: settings.apiKey,
  };
}

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  try {
    const connection = await Connection.connect({
      ...connectionOptions(settings),
      connectTimeout: '5 seconds',
    });
    return new Client({ connection, namespace: settings.namespace });
  } catch (err) {
    throw new UserError(
      `cannot reach the Temporal server at ${settings.address} (${(err as Error).message}).\n` +
        'Start one with "lazarus dev", or set TEMPORAL_ADDRESS to your cluster.',
    );
  }
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(connectionOptions(settings));
  } catch (err) {
    throw new UserError(
      `cannot reach the Temporal server at ${settings.address} (${(err as Error).message})`,
    );
  }
}

/**
 * A connection to a store's server, and the failures a user can fix (unreachable server,
 * wrong credentials, a server older than the driver supports) turned into errors that name
 * the store and the fix.
 */
import { MongoClient, MongoServerError, type Db } from 'mongodb';
import { UserError } from '../../model/errors';
import type { Datastore } from '../../model/manifest';
import { resolveSecret } from '../shared/secrets';

export type MongoStore = Extract<Datastore, { kind: 'mongodb' }>;

export function describeMongo(store: MongoStore): string {
  const user = store.user ? `${store.user}@` : '';
  return `mongodb://${user}${store.host}:${store.port}/${store.database}`;
}

export function clientFor(store: MongoStore): MongoClient {
  const password = resolveSecret(store.password);
  return new MongoClient(`mongodb://${store.host}:${store.port}/`, {
    ...(store.user ? { auth: { username: store.user, password }, authSource: store.auth_source } : {}),
    ...(store.replica_set ? { replicaSet: store.replica_set } : { directConnection: true }),
    tls: store.tls,
    // A server that does not answer fails the attempt instead of hanging it (it is retried).
    serverSelectionTimeoutMS: 10_000,
    connectTimeoutMS: 10_000,
    appName: 'lazarus',
  });
}

/** Connects, runs `work` on the store's database, closes; connection failures explained. */
export async function withDb<T>(
  store: MongoStore,
  work: (db: Db, client: MongoClient) => Promise<T>,
): Promise<T> {
  const client = clientFor(store);
  try {
    await client.connect().catch((err: Error) => {
      throw explainConnectError(store, err);
    });
    return await work(client.db(store.database), client);
  } finally {
    await client.close();
  }
}

/** Why a connection failed, in the user's terms; an error of another kind is passed on as it is. */
export function explainConnectError(store: MongoStore, err: Error): Error {
  const where = describeMongo(store);
  const message = err.message;
  if (/wire version|requires at least/i.test(message))
    return new UserError(
      `${where}: the server is older than MongoDB 4.4, the oldest the MongoDB driver in Lazarus supports ` +
        `(${message}); upgrade the server to 4.4 or later`,
      { cause: err },
    );
  if ((err instanceof MongoServerError && err.code === 18) || /auth(entication)? failed/i.test(message))
    return new UserError(
      `${where}: authentication failed for user ${store.user ?? '(none)'}; check datastore.user, ` +
        `datastore.password and datastore.auth_source (the database the user is defined in, often admin)`,
      { cause: err },
    );
  if (err.name === 'MongoServerSelectionError' || err.name === 'MongoNetworkError')
    return new UserError(
      `${where}: cannot reach the server (${message}); check datastore.host and datastore.port, ` +
        'and that the server is running and reachable from the worker',
      { cause: err },
    );
  return err;
}

/** Whether a command failed because the server does not have it (CommandNotFound, NotImplemented, ...). */
export function unsupported(err: unknown): boolean {
  return err instanceof MongoServerError && [59, 115, 238].includes(Number(err.code));
}

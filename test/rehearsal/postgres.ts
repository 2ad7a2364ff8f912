import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningPostgres, startEmbeddedPostgres } from '../../local/embedded-postgres';

/** RDS Proxy's port; the application code assumes it, so the stand-in listens on it too. */
const PROXY_PORT = 5432;

export interface ProxyStandIn extends RunningPostgres {
  /** The address standing in for the proxy endpoint: a loopback address of its own. */
  host: string;
  /** The CA file a client must trust to verify the server's certificate. */
  caFile: string;
}

/**
 * An embedded PostgreSQL 17 that stands in for RDS Proxy: TLS only (a certificate for its own
 * address, signed by a CA made here), port 5432 on an address of 127.0.0.0/8 of its own (so
 * another PostgreSQL on 5432 does not collide), no Unix socket. Any credentials are accepted over
 * TLS (IAM auth tokens cannot be checked here), nothing without it, like `rds.force_ssl`.
 */
export async function startProxyStandIn(): Promise<ProxyStandIn> {
  const certs = await mkdtemp(join(tmpdir(), 'rehearsal-ca-'));
  const caKey = join(certs, 'ca.key');
  const caFile = join(certs, 'ca.crt');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'], {
    keyout: caKey,
    out: caFile,
    days: '2',
    subj: '/CN=Rehearsal Proxy CA',
  });
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const host = `127.${1 + rand(254)}.${rand(256)}.${1 + rand(253)}`;
    try {
      const dataDir = await mkdtemp(join(tmpdir(), 'rehearsal-pg-'));
      const running = await startEmbeddedPostgres({
        dataDir,
        persistent: false,
        ephemeral: true,
        host,
        port: PROXY_PORT,
        settings: {
          ssl: 'on',
          ssl_cert_file: 'server.crt',
          ssl_key_file: 'server.key',
          hba_file: join(dataDir, 'rehearsal_hba.conf'),
          unix_socket_directories: '',
          max_connections: '100',
          shared_buffers: '32MB',
        },
        beforeStart: (dir) => placeServerFiles(dir, host, caFile, caKey),
      });
      return {
        ...running,
        host,
        caFile,
        stop: async () => {
          await running.stop();
          await rm(certs, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error; // most likely the address was taken: try another
    }
  }
  throw new Error(`Could not start the proxy stand-in: ${String(lastError)}`);
}

/** The server's certificate (for its address), key and pg_hba.conf, owned by PostgreSQL's user. */
async function placeServerFiles(dataDir: string, host: string, caFile: string, caKey: string) {
  const key = join(dataDir, 'server.key');
  const csr = join(dataDir, 'server.csr');
  const crt = join(dataDir, 'server.crt');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'], {
    keyout: key,
    out: csr,
    subj: `/CN=${host}`,
  });
  const ext = join(dataDir, 'server.ext');
  await writeFile(ext, `subjectAltName=IP:${host}\n`);
  openssl(['x509', '-req'], {
    in: csr,
    CA: caFile,
    CAkey: caKey,
    CAcreateserial: '',
    out: crt,
    days: '2',
    extfile: ext,
  });
  const hba = join(dataDir, 'rehearsal_hba.conf');
  await writeFile(hba, 'hostssl all all 127.0.0.0/8 trust\nhost all all all reject\n');
  // PostgreSQL reads its key only if it owns it and nobody else can (as root it runs as `postgres`)
  const { uid, gid } = await stat(dataDir);
  for (const file of [key, crt, hba]) await chown(file, uid, gid);
  await chmod(key, 0o600);
}

function openssl(command: string[], options: Record<string, string>) {
  const args = [
    ...command,
    ...Object.entries(options).flatMap(([k, v]) => (v === '' ? [`-${k}`] : [`-${k}`, v])),
  ];
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const rand = (n: number) => Math.floor(Math.random() * n);

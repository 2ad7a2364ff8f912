import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApiDocument } from '../functions/openapi';

/**
 * `npm run lint:api` (part of `npm test`): GET /openapi.json checked by the tools a new user would
 * point at it — Redocly's recommended rules (redocly.yaml), Spectral with the OWASP API Security
 * rules (.spectral.yaml, failing on warnings too) and Prism, which must load it and mock from it.
 * Everything runs offline from node_modules. A tool's output is shown only when it fails.
 */
const bin = (name: string) => join(process.cwd(), 'node_modules', '.bin', name);

interface Outcome {
  name: string;
  ok: boolean;
  output: string;
}

function run(name: string, command: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<Outcome>((resolve) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', (error) => resolve({ name, ok: false, output: `${output}${error.message}` }));
    child.on('exit', (code) => resolve({ name, ok: code === 0, output }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `prism mock` on the document, as a user would, and asks it what a client would. */
async function prism(file: string): Promise<Outcome> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    bin('prism'),
    ['mock', file, '--host', '127.0.0.1', '--port', String(port)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Prism did not start within 90 s')), 90_000);
      const read = (chunk: Buffer) => {
        output += chunk;
        if (output.includes('Prism is listening')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', read);
      child.stderr?.on('data', read);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Prism exited with ${code} before listening`));
      });
    });
    const base = `http://127.0.0.1:${port}`;
    const probes = [
      { what: 'GET /health', expect: 200, res: await fetch(`${base}/health`) },
      {
        what: 'POST /orders without a token',
        expect: 401,
        res: await fetch(`${base}/orders`, { method: 'POST' }),
      },
      {
        what: 'GET /concerts with q over its maxLength',
        expect: 400,
        res: await fetch(`${base}/concerts?q=${'x'.repeat(201)}`),
      },
    ];
    const wrong = probes.filter((p) => p.res.status !== p.expect);
    for (const p of wrong) output += `\n${p.what}: expected ${p.expect}, got ${p.res.status}`;
    return { name: 'prism mock', ok: wrong.length === 0, output };
  } catch (error) {
    return { name: 'prism mock', ok: false, output: `${output}\n${(error as Error).message}` };
  } finally {
    child.kill();
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
  const file = join(dir, 'openapi.json');
  writeFileSync(file, JSON.stringify(openApiDocument(), null, 2));
  const outcomes = await Promise.all([
    run('redocly lint', bin('redocly'), ['lint', file, '--config', 'redocly.yaml'], {
      REDOCLY_TELEMETRY: 'off',
      REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
    }),
    run('spectral lint (OWASP)', bin('spectral'), [
      'lint',
      file,
      '--ruleset',
      '.spectral.yaml',
      '--fail-severity',
      'warn',
    ]),
    prism(file),
  ]);
  for (const { name, ok, output } of outcomes) {
    console.log(`${ok ? '✓' : '✗'} ${name}`);
    if (!ok) console.log(output);
  }
  if (outcomes.every((o) => o.ok)) rmSync(dir, { recursive: true, force: true });
  else {
    console.log(`The document is kept at ${file}`);
    process.exitCode = 1;
  }
}

await main();

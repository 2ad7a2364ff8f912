import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSql, type Sql } from '../../db/client';
import { loadDemoData } from '../../local/demo-data';
import { Stacks, type Template } from './cloudformation';
import { httpEvent, sqsEvent } from './events';
import { GATEWAY_BASE_SETTINGS, type GatewayStandIn, portOf } from './gateways';
import type { LocalAws } from './local-aws';
import { Network } from './network';
import type { ProxyStandIn } from './postgres';
import type { Synthesized } from './synth';

const here = dirname(fileURLToPath(import.meta.url));
const PROJECT_ROOT = join(here, '..', '..');

export interface Outcome {
  function: string;
  trigger: string;
  ok: boolean;
  detail: string;
}

interface Fn {
  stack: string;
  id: string;
  properties: Record<string, any>;
}

/**
 * The deployment rehearsal of one synthesized environment: every AWS::Lambda::Function of its
 * templates runs from its own bundled asset, in a fresh Node.js process, with exactly the
 * environment the template gives it (tokens replaced by the local stand-ins) plus what the Lambda
 * runtime adds, invoked with an event of its trigger in the order a deploy and its traffic would:
 * the deploy trigger (migrations), the HTTP routes, the queue consumers, the schedules.
 *
 * The functions CDK adds to serve custom resources (a `ServiceToken`) are CDK's own; the rehearsal
 * does what they would do instead (a Custom::Trigger invokes its handler).
 */
export async function rehearse(
  s: Synthesized,
  pg: ProxyStandIn,
  aws: LocalAws,
  gateways: GatewayStandIn,
): Promise<Outcome[]> {
  const stacks = await stacksOf(s, { proxyHost: pg.host, awsEndpoint: aws.endpoint });
  const { templates } = stacks;
  aws.use(stacks);
  await provideRuntimeSdk(s.outdir);

  const providers = new Set<string>();
  for (const [stack, t] of Object.entries(templates)) {
    for (const r of Object.values(t.Resources)) {
      const token = r.Properties?.ServiceToken;
      if (token) providers.add(`${stack}/${token['Fn::GetAtt']?.[0]}`);
    }
  }
  const functions: Fn[] = [...stacks.resourcesOfType('AWS::Lambda::Function')]
    .filter(({ stack, id }) => !providers.has(`${stack}/${id}`))
    .map(({ stack, id, resource }) => ({ stack, id, properties: resource.Properties! }));
  const byArn = (arn: string) =>
    functions.find(
      (f) =>
        arn === stacks.resolve(f.stack, { 'Fn::GetAtt': [f.id, 'Arn'] }) ||
        arn.startsWith(`${stacks.resolve(f.stack, { Ref: f.id })}:`) ||
        arn === stacks.resolve(f.stack, { Ref: f.id }),
    );

  await resetDatabases(pg, functions, stacks);
  const outcomes: Outcome[] = [];
  const invoked = new Set<Fn>();
  const run = async (fn: Fn, trigger: string, event: unknown, judge: (result: any) => string | undefined) => {
    invoked.add(fn);
    const outcome = await invoke(fn, stacks, { aws, pg, gateways }, s.outdir, event);
    const problem = outcome.problem ?? judge(outcome.result);
    outcomes.push({
      function: `${fn.stack}/${fn.id}`,
      trigger,
      ok: problem === undefined,
      detail: problem ? `${problem}\n${outcome.logs.slice(-3000)}` : summary(outcome.result),
    });
  };
  const noError = () => undefined;

  // 1. the deploy: each Custom::Trigger invokes its handler (the migration), as CloudFormation would
  for (const { stack, resource } of stacks.resourcesOfType('Custom::Trigger')) {
    const fn = byArn(stacks.resolve(stack, resource.Properties!.HandlerArn));
    if (fn) await run(fn, 'deploy trigger', {}, noError);
  }
  await seed(pg, functions, stacks);

  // 2. HTTP API routes
  const routes = [...stacks.resourcesOfType('AWS::ApiGatewayV2::Route')];
  await inParallel(routes, 3, async ({ stack, resource }) => {
    const target = stacks.resolve(stack, resource.Properties!.Target) as string;
    const integrationId = Object.entries(templates[stack]!.Resources).find(
      ([id, r]) =>
        r.Type === 'AWS::ApiGatewayV2::Integration' &&
        target === `integrations/${stacks.resolve(stack, { Ref: id })}`,
    )?.[1];
    const fn = integrationId && byArn(stacks.resolve(stack, integrationId.Properties!.IntegrationUri));
    const routeKey = resource.Properties!.RouteKey as string;
    if (!fn) {
      outcomes.push({ function: '?', trigger: routeKey, ok: false, detail: 'no function behind this route' });
      return;
    }
    const webhookKey = () => {
      const env = stacks.resolve(fn.stack, fn.properties.Environment?.Variables ?? {}) as Record<
        string,
        string
      >;
      return Object.values(env)
        .map((v) => aws.secretValue(v))
        .find((v) => v !== undefined);
    };
    const event = httpEvent(
      { routeKey, authorizationType: resource.Properties!.AuthorizationType ?? 'NONE' },
      webhookKey,
    );
    await run(fn, routeKey, event, (r) =>
      typeof r?.statusCode !== 'number' || r.statusCode >= 500
        ? `answered ${r?.statusCode}: ${r?.body}`
        : undefined,
    );
  });

  // 3. queue consumers, with what reached their queue and they have not had yet
  const consumed = new Set<object>();
  const consumers = [...stacks.resourcesOfType('AWS::Lambda::EventSourceMapping')].flatMap(
    ({ stack, resource }) => {
      const fn = byArn(stacks.resolve(stack, resource.Properties!.FunctionName));
      return fn
        ? [{ fn, queueArn: stacks.resolve(stack, resource.Properties!.EventSourceArn) as string }]
        : [];
    },
  );
  const drainQueues = async () => {
    for (const { fn, queueArn } of consumers) {
      const messages = aws.messages.filter((m) => m.queueArn === queueArn && !consumed.has(m));
      if (messages.length === 0) continue;
      for (const m of messages) consumed.add(m);
      await run(fn, `SQS (${messages.length})`, sqsEvent(queueArn, stacks.local.region, messages), (r) =>
        r?.batchItemFailures?.length ? `failed ${JSON.stringify(r.batchItemFailures)}` : undefined,
      );
    }
  };
  await drainQueues();

  // 4. schedules
  for (const { stack, resource } of stacks.resourcesOfType('AWS::Scheduler::Schedule')) {
    const target = resource.Properties!.Target;
    const fn = byArn(stacks.resolve(stack, target.Arn));
    if (fn)
      await run(
        fn,
        `schedule ${resource.Properties!.ScheduleExpression}`,
        JSON.parse(target.Input ?? '{}'),
        noError,
      );
  }

  // 5. what the schedules sent on (the relay's events, through the bus's rules)
  await drainQueues();
  for (const { fn } of consumers.filter(({ fn }) => !invoked.has(fn))) {
    invoked.add(fn);
    outcomes.push({
      function: `${fn.stack}/${fn.id}`,
      trigger: 'SQS',
      ok: false,
      detail: 'nothing reached its queue',
    });
  }

  for (const fn of functions.filter((f) => !invoked.has(f))) {
    outcomes.push({
      function: `${fn.stack}/${fn.id}`,
      trigger: '?',
      ok: false,
      detail: 'nothing invokes this function',
    });
  }
  return outcomes;
}

/** The templates of one synthesized environment, with the rehearsal's stand-ins for their tokens. */
export async function stacksOf(
  s: Synthesized,
  local: { proxyHost: string; awsEndpoint: string },
): Promise<Stacks> {
  const templates: Record<string, Template> = {};
  for (const stack of [s.built.data, s.built.api]) {
    templates[stack.stackName] = JSON.parse(await readFile(join(s.outdir, stack.templateFile), 'utf8'));
  }
  return new Stacks(templates, { region: s.built.api.region, account: '000000000000', ...local });
}

/** The Lambda runtime ships the AWS SDK v3, which the bundles leave out: the project's stands in. */
async function provideRuntimeSdk(outdir: string) {
  const target = join(outdir, 'node_modules', '@aws-sdk');
  if (existsSync(target)) return;
  await mkdir(dirname(target), { recursive: true });
  await symlink(join(PROJECT_ROOT, 'node_modules', '@aws-sdk'), target, 'dir');
}

/** What the stack's first deploy finds: the database of every DB_NAME, empty. */
async function resetDatabases(pg: ProxyStandIn, functions: Fn[], stacks: Stacks) {
  const admin = adminSql(pg, 'postgres');
  try {
    for (const name of databaseNames(functions, stacks)) {
      await admin`drop database if exists ${admin(name)} with (force)`;
      await admin`create database ${admin(name)}`;
    }
  } finally {
    await admin.end();
  }
}

/** Demo data after the migration, as an operator would load a catalogue. */
async function seed(pg: ProxyStandIn, functions: Fn[], stacks: Stacks) {
  for (const name of databaseNames(functions, stacks)) {
    const sql = adminSql(pg, name);
    try {
      await loadDemoData(sql);
    } finally {
      await sql.end();
    }
  }
}

const databaseNames = (functions: Fn[], stacks: Stacks) =>
  new Set(
    functions
      .map((f) => stacks.resolve(f.stack, f.properties.Environment?.Variables?.DB_NAME))
      .filter((n): n is string => typeof n === 'string'),
  );

/** The rehearsal's own client goes through the same TLS and token path as the functions. */
const adminSql = (pg: ProxyStandIn, database: string): Sql =>
  createSql({ proxyHost: pg.host, database, user: 'postgres', ca: readFileSync(pg.caFile, 'utf8') });

interface Invocation {
  result?: any;
  problem?: string;
  logs: string;
}

/**
 * One invocation in a fresh process, with the template's environment and the runtime's own. The
 * gateways' bases point at the stand-in: the template's own where it gives one (reachable if the
 * function's network reaches that address's port on the internet), and a trap where it gives none
 * (in AWS the code would fall back to a local default: no call may go there).
 */
async function invoke(
  fn: Fn,
  stacks: Stacks,
  { aws, pg, gateways }: { aws: LocalAws; pg: ProxyStandIn; gateways: GatewayStandIn },
  outdir: string,
  event: unknown,
): Promise<Invocation> {
  const p = fn.properties;
  const templateEnv = stacks.resolve(fn.stack, p.Environment?.Variables ?? {}) as Record<string, unknown>;
  const notText = Object.entries(templateEnv).filter(([, v]) => typeof v !== 'string');
  if (notText.length) return { problem: `settings that are not text: ${notText}`, logs: '' };
  const network = new Network(stacks);
  const ref = { stack: fn.stack, id: fn.id };
  if (templateEnv.DB_PROXY_HOST && !network.reachesProxy(ref))
    return { problem: 'its network does not reach the RDS Proxy on 5432', logs: '' };
  const caller = `${fn.stack}/${fn.id}`;
  const gatewayBases: Record<string, string> = {};
  for (const setting of GATEWAY_BASE_SETTINGS) {
    const base = templateEnv[setting] as string | undefined;
    gatewayBases[setting] = base
      ? await gateways.baseFor(caller, setting, base, network.reachesInternet(ref, portOf(base)))
      : await gateways.baseFor(caller, `${setting} (not in its template)`, 'local default', false);
  }
  const taskRoot = join(outdir, `asset.${String(p.Code.S3Key).replace(/\.zip$/, '')}`);
  const timeoutMs = (p.Timeout ?? 3) * 1000;
  const credentials = aws.credentialsFor(fn.stack, fn.id);
  const name = stacks.resolve(fn.stack, { Ref: fn.id }) as string;
  const env: Record<string, string> = {
    // what the Lambda runtime sets
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    _HANDLER: p.Handler,
    LAMBDA_TASK_ROOT: taskRoot,
    AWS_EXECUTION_ENV: `AWS_Lambda_${p.Runtime}`,
    AWS_REGION: stacks.local.region,
    AWS_DEFAULT_REGION: stacks.local.region,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(p.MemorySize ?? 128),
    AWS_LAMBDA_LOG_FORMAT: p.LoggingConfig?.LogFormat ?? 'Text',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    // the rehearsal's two stand-ins: the local AWS endpoint, and the CA of the local proxy
    AWS_ENDPOINT_URL: aws.endpoint,
    ...(templateEnv.DB_PROXY_HOST ? { DB_CA_FILE: pg.caFile } : {}),
    REHEARSAL_TIMEOUT_MS: String(timeoutMs),
    ...(templateEnv as Record<string, string>),
    ...gatewayBases,
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, 'lambda-runtime.mjs')], {
      cwd: taskRoot,
      env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    let logs = '';
    let report = '';
    child.stdout!.on('data', (d) => (logs += d));
    child.stderr!.on('data', (d) => (logs += d));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d) => (report += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 2000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!report) {
        resolve({
          problem: signal ? `timed out after ${timeoutMs} ms` : `exited ${code} without a result`,
          logs,
        });
        return;
      }
      const parsed = JSON.parse(report);
      if (parsed.crash) resolve({ problem: `crashed: ${parsed.crash}`, logs });
      else if (parsed.error)
        resolve({ problem: `threw ${parsed.error.name}: ${parsed.error.message}`, logs });
      else resolve({ result: parsed.result, logs });
    });
    child.stdin!.end(JSON.stringify(event));
  });
}

function summary(result: any): string {
  if (result && typeof result.statusCode === 'number') return String(result.statusCode);
  return JSON.stringify(result)?.slice(0, 200) ?? 'null';
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

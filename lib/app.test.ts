import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECT_TIMEOUT_SECONDS, createSql } from '../db/client';
import { backgroundEntries } from '../functions/background';
import type { Need } from '../functions/needs';
import { deployedRoutes } from '../functions/routes';
import { LocalAws } from '../test/rehearsal/local-aws';
import { type ProxyStandIn, startProxyStandIn } from '../test/rehearsal/postgres';
import { rehearse } from '../test/rehearsal/rehearse';
import { type Synthesized, synthesizeAll } from '../test/rehearsal/synth';
import { buildApp } from './app';

type Resources = Record<string, { Type: string; Properties: Record<string, any>; [k: string]: any }>;

let dev: Synthesized;
let prod: Synthesized;

// one synthesis per environment, shared by every assertion (and the deployment rehearsal)
beforeAll(() => {
  ({ dev, prod } = synthesizeAll());
}, 600_000);
afterAll(() => rmSync(dev.outdir, { recursive: true, force: true }));

const functionByName = (t: Template, name: string) => {
  const fns = t.findResources('AWS::Lambda::Function') as Resources;
  const entry = Object.entries(fns).find(([id]) => new RegExp(`^${name}[0-9A-F]{8}$`).test(id));
  if (!entry) throw new Error(`no function ${name}`);
  return { id: entry[0], ...entry[1] };
};

const policyStatementsOf = (t: Template, roleLogicalId: string) => {
  const policies = t.findResources('AWS::IAM::Policy') as Resources;
  return Object.values(policies)
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleLogicalId))
    .flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
};
const actionsOf = (t: Template, fnName: string) => {
  const fn = functionByName(t, fnName);
  const role = fn.Properties.Role['Fn::GetAtt'][0] as string;
  return policyStatementsOf(t, role).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
};

describe('both environments', () => {
  it('synthesise with no unacknowledged cdk-nag finding', () => {
    expect(dev.api.toJSON().Resources).toBeDefined();
    expect(prod.api.toJSON().Resources).toBeDefined();
  });

  it('route every entry of the route table, and nothing else (no /dev route)', () => {
    const routes = Object.values(dev.api.findResources('AWS::ApiGatewayV2::Route') as Resources)
      .map((r) => r.Properties.RouteKey)
      .sort();
    expect(routes).toEqual(deployedRoutes.map(([, r]) => `${r.method} ${r.path}`).sort());
    expect(routes.some((k: string) => k.includes('/dev'))).toBe(false);
  });

  it('put the JWT authorizer on exactly the customer and admin routes', () => {
    const routes = Object.values(dev.api.findResources('AWS::ApiGatewayV2::Route') as Resources);
    for (const [, route] of deployedRoutes) {
      const deployed = routes.find((r) => r.Properties.RouteKey === `${route.method} ${route.path}`)!;
      const secured = route.auth === 'customer' || route.auth === 'admin';
      expect([route.path, deployed.Properties.AuthorizationType ?? 'NONE']).toEqual([
        route.path,
        secured ? 'JWT' : 'NONE',
      ]);
    }
    dev.api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Audience: ['ticketing-dev'], Issuer: Match.stringLikeRegexp('^https://') },
    });
  });

  it('make one arm64 Node.js function per route plus the background functions', () => {
    const fns = Object.values(dev.api.findResources('AWS::Lambda::Function') as Resources);
    // CDK's own helpers (the trigger provider, log retention) are not ours
    const ours = fns.filter(
      (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'ticketing',
    );
    expect(ours.length).toBe(deployedRoutes.length + backgroundEntries.length);
    expect(
      ours.every((f) => f.Properties.Runtime === 'nodejs24.x' && f.Properties.Architectures[0] === 'arm64'),
    ).toBe(true);
  });

  it('wire the payment queue to a DLQ after 5 receives, with visibility ≥ 6× the processor timeout', () => {
    const queues = dev.api.findResources('AWS::SQS::Queue') as Resources;
    const main = Object.values(queues).find((q) => q.Properties.RedrivePolicy)!;
    expect(main.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
    const processor = functionByName(dev.api, 'paymentProcessor');
    expect(main.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * processor.Properties.Timeout);
    dev.api.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: processor.id },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
  });

  it('grant each function only what it uses', () => {
    const webhook = actionsOf(dev.api, 'pgWebhook');
    const relay = actionsOf(dev.api, 'outboxRelay');
    const createOrder = actionsOf(dev.api, 'createOrder');

    expect(webhook).toContain('sqs:SendMessage');
    expect(webhook).not.toContain('rds-db:connect');
    expect(relay).toContain('events:PutEvents');
    expect(createOrder).toContain('rds-db:connect');
    expect(createOrder).not.toContain('sqs:SendMessage');
    expect(createOrder).not.toContain('events:PutEvents');
    for (const name of deployedRoutes.map(([n]) => n).filter((n) => n !== 'pgWebhook')) {
      expect([name, actionsOf(dev.api, name).includes('sqs:SendMessage')]).toEqual([name, false]);
    }
    // no wildcard actions anywhere
    const all = Object.values(dev.api.findResources('AWS::IAM::Policy') as Resources).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap((s) =>
        Array.isArray(s.Action) ? s.Action : [s.Action],
      ),
    );
    expect(all.filter((a) => a === '*' || a.endsWith(':*'))).toEqual([]);
  });

  it('place database functions in the VPC and the webhook outside it', () => {
    expect(functionByName(dev.api, 'createOrder').Properties.VpcConfig).toBeDefined();
    expect(functionByName(dev.api, 'sweeper').Properties.VpcConfig).toBeDefined();
    expect(functionByName(dev.api, 'pgWebhook').Properties.VpcConfig).toBeUndefined();
    expect(functionByName(dev.api, 'openapi').Properties.VpcConfig).toBeUndefined();
  });

  it('require IAM auth and TLS at the proxy, on Aurora PostgreSQL 17', () => {
    dev.data.hasResourceProperties('AWS::RDS::DBProxy', {
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      Auth: Match.arrayWith([Match.objectLike({ IAMAuth: 'REQUIRED' })]),
    });
    dev.data.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-postgresql',
      EngineVersion: Match.stringLikeRegexp('^17\\.'),
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
      StorageEncrypted: true,
      EnableIAMDatabaseAuthentication: true,
    });
  });

  it('invoke the sweeper, the schedule canceller and the relay every minute, and migrate on deploy', () => {
    const schedules = Object.values(dev.api.findResources('AWS::Scheduler::Schedule') as Resources);
    const scheduled = backgroundEntries.filter(([, d]) => d.trigger.kind === 'schedule');
    expect(scheduled.map(([name]) => name)).toEqual(
      expect.arrayContaining(['sweeper', 'scheduleCanceller', 'outboxRelay']),
    );
    expect(schedules).toHaveLength(scheduled.length);
    for (const [name] of scheduled) {
      const fn = functionByName(dev.api, name);
      const its = schedules.filter((s) => JSON.stringify(s.Properties.Target.Arn).includes(fn.id));
      expect([name, its.map((s) => s.Properties.ScheduleExpression)]).toEqual([name, ['rate(1 minute)']]);
    }
    dev.api.resourceCountIs('Custom::Trigger', 1);
  });

  it('alarm on DLQ depth, API 5xx rate, p99 latency and the errors of the sweeper and the schedule canceller', () => {
    const alarms = Object.values(dev.api.findResources('AWS::CloudWatch::Alarm') as Resources);
    expect(alarms).toHaveLength(5);
    expect(alarms.every((a) => a.Properties.AlarmActions?.length === 1)).toBe(true);
    const canceller = functionByName(dev.api, 'scheduleCanceller');
    expect(
      alarms.some(
        (a) =>
          a.Properties.MetricName === 'Errors' &&
          JSON.stringify(a.Properties.Dimensions).includes(canceller.id) &&
          a.Properties.Threshold === 1,
      ),
    ).toBe(true);
  });

  it('throttle the API stage and write access logs', () => {
    dev.api.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });
});

describe('prod', () => {
  it('retains and protects its data, with 35 days of backups and a reader', () => {
    prod.data.hasResource('AWS::RDS::DBCluster', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtection: true, BackupRetentionPeriod: 35 }),
    });
    prod.data.resourceCountIs('AWS::RDS::DBInstance', 2);
    expect(prod.built.data.terminationProtection).toBe(true);
  });

  it('while dev is destroyable', () => {
    dev.data.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Delete' });
    dev.data.resourceCountIs('AWS::RDS::DBInstance', 1);
  });
});

const rolesOf = (t: Template) => t.findResources('AWS::IAM::Role') as Resources;
const ourFunctions = (t: Template) =>
  Object.entries(t.findResources('AWS::Lambda::Function') as Resources).filter(
    ([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'ticketing',
  );
const tableEntries = () => [...deployedRoutes, ...backgroundEntries];

/** The IAM actions each need requires (functions/needs.ts), as the CDK grants write them. */
const ACTIONS_OF_NEED: Record<Need, string[]> = {
  database: ['rds-db:connect'],
  databaseAdmin: ['rds-db:connect'],
  appSecret: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
  paymentQueue: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
  eventBus: ['events:PutEvents'],
  webhookSecret: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
  gatewaySecrets: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
  // egress is network, not IAM
  internet: [],
};
/** What every function has (its own log group) and what a queue trigger adds (Lambda polls for it). */
const OWN_LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
/** What Lambda itself needs to attach a function to the VPC (no resource scope exists for them). */
const VPC_ENI = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];
const QUEUE_CONSUMER = [
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueUrl',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
];

describe('permissions follow the declared needs', () => {
  it('give every function exactly the actions of its needs and trigger, and nothing else', () => {
    for (const [name, def] of tableEntries()) {
      const expected = new Set([
        ...OWN_LOGS,
        ...def.needs.flatMap((need) => ACTIONS_OF_NEED[need]),
        ...('trigger' in def && def.trigger.kind === 'queue' ? QUEUE_CONSUMER : []),
        ...(functionByName(dev.api, name).Properties.VpcConfig ? VPC_ENI : []),
      ]);
      expect([name, [...new Set(actionsOf(dev.api, name))].sort()]).toEqual([name, [...expected].sort()]);
    }
  });

  it('connect each database function as the user its settings name, and only that user', () => {
    for (const [name] of tableEntries()) {
      const fn = functionByName(dev.api, name);
      const role = fn.Properties.Role['Fn::GetAtt'][0] as string;
      const connects = policyStatementsOf(dev.api, role).filter((s) => s.Action === 'rds-db:connect');
      const user = fn.Properties.Environment.Variables.DB_USER as string | undefined;
      expect([name, connects.map((s) => JSON.stringify(s.Resource).match(/\/(\w+)"\]\]\}$/)?.[1])]).toEqual([
        name,
        user ? [user] : [],
      ]);
    }
  });

  it('let every function in a VPC manage its network interfaces (item 1)', () => {
    for (const [id, fn] of ourFunctions(dev.api)) {
      const role = fn.Properties.Role['Fn::GetAtt'][0] as string;
      const eni = policyStatementsOf(dev.api, role).filter((s) => s.Resource === '*');
      expect([id, eni.flatMap((s) => s.Action).sort()]).toEqual([
        id,
        fn.Properties.VpcConfig ? [...VPC_ENI].sort() : [],
      ]);
    }
  });

  it('write to no log group but their own: no AWS-managed policy (its logs:* on every group)', () => {
    const roles = rolesOf(dev.api);
    for (const [id, fn] of ourFunctions(dev.api)) {
      const role = roles[fn.Properties.Role['Fn::GetAtt'][0]]!;
      expect([id, role.Properties.ManagedPolicyArns ?? []]).toEqual([id, []]);
    }
  });
});

describe('deploy-ready (issue 15)', () => {
  it('name the RDS Proxy per environment (item 2)', () => {
    const nameOf = (s: Synthesized) =>
      Object.values(s.data.findResources('AWS::RDS::DBProxy') as Resources)[0]!.Properties.DBProxyName;
    const names = [nameOf(dev), nameOf(prod)];
    expect(new Set(names).size).toBe(2);
    for (const name of names) expect(name).toMatch(/^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,61}[A-Za-z0-9]$/);
  });

  it('wait for the migration as long as it may run, and keep the webhook key per environment (item 3)', () => {
    const migrator = functionByName(dev.api, 'migrate');
    const trigger = Object.values(dev.api.findResources('Custom::Trigger') as Resources)[0]!;
    expect(Number(trigger.Properties.Timeout)).toBeGreaterThan(migrator.Properties.Timeout * 1000);
    // The trigger's provider is a Lambda too (900 s at most) with no timeout guard: killed before it
    // answers, the deploy hangs for CloudFormation's hour. It retries AccessDenied for up to 60 s
    // (IAM propagation) before invoking, then waits the trigger's timeout; all of it must fit.
    const provider = Object.entries(dev.api.findResources('AWS::Lambda::Function') as Resources).find(
      ([id]) => id.startsWith('AWSCDKTriggerCustomResourceProvider'),
    )![1];
    expect(Number(trigger.Properties.Timeout) / 1000 + 60).toBeLessThan(provider.Properties.Timeout);
    for (const s of [dev, prod]) {
      expect(JSON.stringify(s.api.toJSON())).not.toContain('{{resolve:ssm:');
      s.data.resourceCountIs('AWS::SecretsManager::Secret', 3);
    }
    const webhook = functionByName(dev.api, 'pgWebhook').Properties.Environment.Variables;
    expect(webhook.PG_WEBHOOK_SECRET).toBeUndefined();
    expect(JSON.stringify(webhook.PG_WEBHOOK_SECRET_ARN)).toContain('PgWebhookSecret');
  });

  it('refuse to synthesise prod without its issuer, audience and alarm e-mail (item 5)', () => {
    expect(() => buildApp(new App({ context: { env: 'prod', 'aws:cdk:bundling-stacks': [] } }))).toThrow(
      /-c jwtIssuer=\.\.\. -c jwtAudience=\.\.\. -c alarmEmail=\.\.\./,
    );
    prod.api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Audience: ['ticketing'], Issuer: Match.stringLikeRegexp('_Rehearsal$') },
    });
    prod.api.hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'oncall@ticketing.example' });
  });

  it('time out in order: connect + proxy borrow + statement < Lambda < API Gateway (item 6)', () => {
    const settings = readFileSync(join(__dirname, '../db/migrations/0002_database_settings.sql'), 'utf8');
    const statementSeconds = Number(
      settings.match(/statement_timeout = %L', current_database\(\), '(\d+)s'/)![1],
    );
    const targetGroup = Object.values(
      dev.data.findResources('AWS::RDS::DBProxyTargetGroup') as Resources,
    )[0]!;
    const borrowSeconds = targetGroup.Properties.ConnectionPoolConfigurationInfo.ConnectionBorrowTimeout;
    const worstDatabaseCall = CONNECT_TIMEOUT_SECONDS + borrowSeconds + statementSeconds;
    for (const [name] of deployedRoutes) {
      const timeout = functionByName(dev.api, name).Properties.Timeout as number;
      expect([name, timeout > worstDatabaseCall && timeout < 30]).toEqual([name, true]);
    }
  });

  it('reserve concurrency for background work, cap the queue consumer, never retry a schedule (item 7)', () => {
    for (const [name, def] of backgroundEntries) {
      const fn = functionByName(dev.api, name);
      expect([name, fn.Properties.ReservedConcurrentExecutions]).toEqual([name, def.reservedConcurrency]);
      if (def.trigger.kind === 'schedule') {
        dev.api.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
          FunctionName: { Ref: fn.id },
          MaximumRetryAttempts: 0,
        });
      }
      if (def.trigger.kind === 'queue') {
        dev.api.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          FunctionName: { Ref: fn.id },
          ScalingConfig: { MaximumConcurrency: def.trigger.maxConcurrency },
        });
        expect(def.trigger.maxConcurrency).toBeLessThanOrEqual(def.reservedConcurrency!);
      }
    }
    expect(
      backgroundEntries
        .filter(([, d]) => d.trigger.kind !== 'deploy')
        .every(([, d]) => d.reservedConcurrency),
    ).toBe(true);
  });

  it('log HTTP API fields, expose the retry headers, force TLS, keep prod secrets (item 8)', () => {
    const stage = Object.values(dev.api.findResources('AWS::ApiGatewayV2::Stage') as Resources)[0]!;
    const format = stage.Properties.AccessLogSettings.Format as string;
    expect(format).toContain('$context.routeKey');
    expect(format).not.toContain('$context.resourcePath');
    dev.api.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ ExposeHeaders: ['idempotency-key', 'retry-after'] }),
    });
    dev.data.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Parameters: { 'rds.force_ssl': '1' },
    });
    const secrets = Object.values(prod.data.findResources('AWS::SecretsManager::Secret') as Resources);
    expect(secrets.map((s) => s.DeletionPolicy)).toEqual(['Retain', 'Retain', 'Retain']);
  });
});

describe('deployment rehearsal: every function runs with exactly what its stack gives it', () => {
  let pg: ProxyStandIn;
  const aws = new LocalAws();
  beforeAll(async () => {
    pg = await startProxyStandIn();
    await aws.start();
  }, 120_000);
  afterAll(async () => {
    await aws.stop();
    await pg?.stop();
  });

  for (const env of ['dev', 'prod'] as const) {
    it(`${env}: no function crashes, answers 5xx or misses a setting, and every AWS call is granted`, async () => {
      const outcomes = await rehearse(env === 'dev' ? dev : prod, pg, aws);

      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
      expect(aws.calls.filter((c) => !c.allowed)).toEqual([]);
      // the webhook → queue → processor path really ran, through the granted calls
      expect(outcomes.map((o) => o.trigger)).toEqual(expect.arrayContaining(['deploy trigger', 'SQS (1)']));
      expect(outcomes).toHaveLength(ourFunctions(env === 'dev' ? dev.api : prod.api).length);
    }, 600_000);
  }

  it('refuses a proxy whose certificate does not chain to the trusted CAs', async () => {
    const connect = (ca?: string) => {
      const sql = createSql({ proxyHost: pg.host, database: 'postgres', user: 'postgres', ca });
      return sql`select 1 as one`.finally(() => sql.end());
    };

    await expect(connect()).rejects.toThrow(/certificate/i);
    await expect(connect(readFileSync(pg.caFile, 'utf8'))).resolves.toEqual([{ one: 1 }]);
  });
});

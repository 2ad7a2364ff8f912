import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { backgroundEntries } from '../functions/background';
import { deployedRoutes } from '../functions/routes';
import { buildApp } from './app';

/** Synthesises one environment without bundling (esbuild is exercised by `npm run bench`). */
function synth(env: 'dev' | 'prod') {
  const app = new App({ context: { env, 'aws:cdk:bundling-stacks': [] } });
  const built = buildApp(app);
  // cdk-nag runs as a validation plugin: any unacknowledged finding makes synth throw
  app.synth();
  return { api: Template.fromStack(built.api), data: Template.fromStack(built.data), built };
}

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

let dev: ReturnType<typeof synth>;
let prod: ReturnType<typeof synth>;

beforeAll(() => {
  dev = synth('dev');
  prod = synth('prod');
}, 120_000);

const functionByName = (t: Template, name: string) => {
  const fns = t.findResources('AWS::Lambda::Function') as Resources;
  const entry = Object.entries(fns).find(([id]) => id.startsWith(name) && !id.includes('Role'));
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

  it('invoke the sweeper and the relay every minute, and migrate on deploy', () => {
    const schedules = Object.values(dev.api.findResources('AWS::Scheduler::Schedule') as Resources);
    expect(schedules.map((s) => s.Properties.ScheduleExpression)).toEqual([
      'rate(1 minute)',
      'rate(1 minute)',
    ]);
    const targets = schedules.map((s) => JSON.stringify(s.Properties.Target.Arn));
    expect(targets.some((t) => t.includes(functionByName(dev.api, 'sweeper').id))).toBe(true);
    dev.api.resourceCountIs('Custom::Trigger', 1);
  });

  it('alarm on DLQ depth, API 5xx rate, p99 latency and sweeper errors', () => {
    const alarms = Object.values(dev.api.findResources('AWS::CloudWatch::Alarm') as Resources);
    expect(alarms).toHaveLength(4);
    expect(alarms.every((a) => a.Properties.AlarmActions?.length === 1)).toBe(true);
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

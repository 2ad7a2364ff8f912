import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECT_TIMEOUT_SECONDS, createSql } from '../db/client';
import { EVENT_SOURCE, EventBridgePublisher } from '../functions/adapters/eventbridge-publisher';
import { backgroundEntries } from '../functions/background';
import type { Need } from '../functions/needs';
import { METRICS_NAMESPACE, REFUND_FAILED_METRIC, SERVICE_NAME } from '../functions/observability';
import { deployedRoutes } from '../functions/routes';
import { GatewayStandIn } from '../test/rehearsal/gateways';
import { LocalAws } from '../test/rehearsal/local-aws';
import { Network } from '../test/rehearsal/network';
import { type ProxyStandIn, startProxyStandIn } from '../test/rehearsal/postgres';
import { rehearse, stacksOf } from '../test/rehearsal/rehearse';
import { PROD_CONTEXT, type Synthesized, synthesizeAll } from '../test/rehearsal/synth';
import { buildApp } from './app';
import { environmentFrom, reachableThroughEgress } from './environments';

type Resources = Record<string, { Type: string; Properties: Record<string, any>; [k: string]: any }>;

let dev: Synthesized;
let prod: Synthesized;

// one synthesis per environment, shared by every assertion (and the deployment rehearsal)
beforeAll(async () => {
  ({ dev, prod } = await synthesizeAll());
}, 600_000);
afterAll(() => rmSync(dev.outdir, { recursive: true, force: true }));

const functionByName = (t: Template, name: string) => {
  const fns = t.findResources('AWS::Lambda::Function') as Resources;
  const entry = Object.entries(fns).find(([id]) => new RegExp(`^${name}[0-9A-F]{8}$`).test(id));
  if (!entry) throw new Error(`no function ${name}`);
  return { id: entry[0], ...entry[1] };
};

/** The one resource whose logical id is `prefix` plus CDK's 8-character hash. */
const logicalResource = (t: Template, prefix: string) => {
  const found = Object.entries(t.toJSON().Resources as Resources).filter(([id]) =>
    new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id),
  );
  if (found.length !== 1) throw new Error(`${found.length} resources ${prefix}`);
  return { id: found[0]![0], ...found[0]![1] };
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
    const main = logicalResource(dev.api, 'PaymentEvents');
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

  it('invoke the sweeper, the schedule canceller, the relay and the waiting room advancer every minute, the gateway check every 5, and migrate on deploy', () => {
    const schedules = Object.values(dev.api.findResources('AWS::Scheduler::Schedule') as Resources);
    const scheduled = backgroundEntries.filter(([, d]) => d.trigger.kind === 'schedule');
    const every: Record<string, string> = {
      sweeper: 'rate(1 minute)',
      scheduleCanceller: 'rate(1 minute)',
      outboxRelay: 'rate(1 minute)',
      waitingRoomAdvancer: 'rate(1 minute)',
      gatewayCheck: 'rate(5 minutes)',
    };
    expect(scheduled.map(([name]) => name).sort()).toEqual(Object.keys(every).sort());
    expect(schedules).toHaveLength(scheduled.length);
    for (const [name] of scheduled) {
      const fn = functionByName(dev.api, name);
      const its = schedules.filter((s) => JSON.stringify(s.Properties.Target.Arn).includes(fn.id));
      expect([name, its.map((s) => s.Properties.ScheduleExpression)]).toEqual([name, [every[name]]]);
    }
    dev.api.resourceCountIs('Custom::Trigger', 1);
  });

  it('alarm on DLQ depths, failed refunds, API 5xx rate, p99 latency and the errors of the sweeper, the schedule canceller and the waiting room advancer', () => {
    const alarms = Object.values(dev.api.findResources('AWS::CloudWatch::Alarm') as Resources);
    expect(alarms).toHaveLength(9);
    expect(alarms.every((a) => a.Properties.AlarmActions?.length === 1)).toBe(true);
    for (const name of ['scheduleCanceller', 'waitingRoomAdvancer']) {
      const fn = functionByName(dev.api, name);
      expect([
        name,
        alarms.some(
          (a) =>
            a.Properties.MetricName === 'Errors' &&
            JSON.stringify(a.Properties.Dimensions).includes(fn.id) &&
            a.Properties.Threshold === 1,
        ),
      ]).toEqual([name, true]);
    }
  });

  it("keep the waiting room's signing key in Secrets Manager, readable by exactly the functions that need it", () => {
    for (const s of [dev, prod]) {
      const secret = logicalResource(s.data, 'WaitingRoomSecret');
      expect(secret.Properties.GenerateSecretString.PasswordLength).toBeGreaterThanOrEqual(32);
      for (const [name] of tableEntries()) {
        const fn = functionByName(s.api, name);
        const role = fn.Properties.Role['Fn::GetAtt'][0] as string;
        const reads = policyStatementsOf(s.api, role)
          .filter((st) => mentions(st.Resource, secret.id))
          .flatMap((st) => [st.Action].flat());
        const variables = fn.Properties.Environment.Variables;
        const needs = needsOf(name).includes('waitingRoomSecret');
        expect([name, mentions(variables.WAITING_ROOM_SECRET_ARN, secret.id), reads.sort()]).toEqual([
          name,
          needs,
          needs ? ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'] : [],
        ]);
        expect([name, variables.WAITING_ROOM_SECRET]).toEqual([name, undefined]);
      }
    }
    // the routes that sign or check the tokens, and no other
    expect(
      tableEntries()
        .filter(([n]) => needsOf(n).includes('waitingRoomSecret'))
        .map(([n]) => n),
    ).toEqual(['joinQueue', 'queueStatus', 'joinWaitlist', 'createOrder']);
    dev.api.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowHeaders: Match.arrayWith(['queue-token', 'admission-token']),
      }),
    });
  });

  it('throttle the API stage and write access logs', () => {
    dev.api.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });
});

/** A value's CloudFormation form mentions the logical id (a Ref, a GetAtt or a cross-stack import of one). */
const mentions = (value: unknown, logicalIdPrefix: string) =>
  JSON.stringify(value ?? null).includes(logicalIdPrefix);
const needsOf = (name: string): readonly Need[] => tableEntries().find(([n]) => n === name)![1].needs;
const GATEWAY_SECRET_ACTIONS = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'];

describe('money that moves (issue 14): egress, the gateway secret, the refund queue', () => {
  it('run one NAT gateway in dev and one per availability zone in prod, each zone leaving through its own', () => {
    dev.data.resourceCountIs('AWS::EC2::NatGateway', 1);
    prod.data.resourceCountIs('AWS::EC2::NatGateway', 2);
    const natOfZone = (t: Template) => {
      const r = t.toJSON().Resources as Resources;
      const zoneOf = (subnetRef: { Ref: string }) =>
        JSON.stringify(r[subnetRef.Ref]!.Properties.AvailabilityZone);
      const subnetOfTable = (table: { Ref: string }) =>
        Object.values(r).find(
          (x) =>
            x.Type === 'AWS::EC2::SubnetRouteTableAssociation' && x.Properties.RouteTableId.Ref === table.Ref,
        )!.Properties.SubnetId;
      return Object.values(r)
        .filter((x) => x.Type === 'AWS::EC2::Route' && x.Properties.NatGatewayId)
        .map((route) => [
          zoneOf(subnetOfTable(route.Properties.RouteTableId)),
          zoneOf(r[route.Properties.NatGatewayId.Ref]!.Properties.SubnetId),
        ]);
    };
    const prodRoutes = natOfZone(prod.data);
    expect(prodRoutes).toHaveLength(2);
    expect(prodRoutes.every(([subnetZone, natZone]) => subnetZone === natZone)).toBe(true);
    expect(new Set(natOfZone(dev.data).map(([, natZone]) => natZone)).size).toBe(1);
    // the addresses a gateway sees, for an allow-list
    expect(JSON.stringify(prod.data.toJSON().Outputs.EgressIps.Value).match(/EIP/g)).toHaveLength(2);
  });

  it("keep the database's subnets and the AWS endpoints where they were; nothing gets a public IP", () => {
    for (const s of [dev, prod]) {
      const subnets = s.data.toJSON().Resources as Resources;
      const cidrs = (name: string) =>
        Object.entries(subnets)
          .filter(([id, x]) => x.Type === 'AWS::EC2::Subnet' && id.startsWith(`Vpc${name}Subnet`))
          .map(([, x]) => x.Properties.CidrBlock);
      // adding subnets must not move these: a moved subnet would replace the cluster's subnet group
      expect(cidrs('isolated')).toEqual(['10.0.0.0/22', '10.0.4.0/22']);
      expect(cidrs('egress')).toHaveLength(2);
      for (const endpoint of Object.values(s.data.findResources('AWS::EC2::VPCEndpoint') as Resources)) {
        expect(
          endpoint.Properties.SubnetIds.map((x: { Ref: string }) => x.Ref.replace(/Subnet\w+$/, '')),
        ).toEqual(['Vpcisolated', 'Vpcisolated']);
      }
      const subnetList = Object.values(s.data.findResources('AWS::EC2::Subnet') as Resources);
      expect(subnetList.every((x) => x.Properties.MapPublicIpOnLaunch === false)).toBe(true);
    }
  });

  it('give the gateway callers a security group of their own: HTTPS out to anywhere, the proxy, the endpoints; nothing in', () => {
    for (const s of [dev, prod]) {
      const group = logicalResource(s.data, 'GatewayClients');
      expect(group.Properties.SecurityGroupEgress).toEqual([
        expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
      ]);
      expect(group.Properties.SecurityGroupIngress).toBeUndefined();
      const rules = (type: string) =>
        Object.values(s.data.findResources(type) as Resources).filter((r) =>
          mentions(r.Properties.GroupId, group.id),
        );
      expect(rules('AWS::EC2::SecurityGroupIngress')).toEqual([]);
      expect(
        rules('AWS::EC2::SecurityGroupEgress')
          .map((r) => [
            r.Properties.DestinationSecurityGroupId['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, ''),
            r.Properties.FromPort,
            r.Properties.ToPort,
            r.Properties.CidrIp,
          ])
          .sort(),
      ).toEqual([
        ['Endpoints', 443, 443, undefined],
        ['ProxySecurityGroup', 5432, 5432, undefined],
      ]);
      // and the proxy and the endpoints let it in
      const ingressFrom = (target: string) =>
        Object.values(s.data.findResources('AWS::EC2::SecurityGroupIngress') as Resources)
          .filter(
            (r) =>
              mentions(r.Properties.SourceSecurityGroupId, group.id) &&
              mentions(r.Properties.GroupId, target),
          )
          .map((r) => r.Properties.FromPort);
      expect([ingressFrom('ProxySecurityGroup'), ingressFrom('Endpoints')]).toEqual([[5432], [443]]);
    }
  });

  it('place exactly the functions that need the internet in the egress subnets, in that group; the others stay where they were', () => {
    for (const s of [dev, prod]) {
      for (const [name, def] of tableEntries()) {
        const vpc = functionByName(s.api, name).Properties.VpcConfig;
        const placement = !vpc
          ? 'outside the VPC'
          : vpc.SubnetIds.every((x: unknown) => mentions(x, 'egressSubnet')) &&
              mentions(vpc.SecurityGroupIds, 'GatewayClients') &&
              vpc.SecurityGroupIds.length === 1
            ? 'egress'
            : vpc.SubnetIds.every((x: unknown) => mentions(x, 'isolatedSubnet')) &&
                mentions(vpc.SecurityGroupIds, 'DatabaseClients') &&
                vpc.SecurityGroupIds.length === 1
              ? 'isolated'
              : JSON.stringify(vpc);
        const expected = def.needs.includes('internet')
          ? 'egress'
          : def.needs.includes('database') || def.needs.includes('databaseAdmin')
            ? 'isolated'
            : 'outside the VPC';
        expect([name, placement]).toEqual([name, expected]);
      }
    }
    expect(
      ['confirmPayment', 'paymentProcessor', 'refundWorker'].map((n) => needsOf(n).includes('internet')),
    ).toEqual([true, true, true]);
  });

  it('let every function reach what its needs require and nothing more, as AWS would route it', async () => {
    for (const s of [dev, prod]) {
      const stacks = await stacksOf(s, { proxyHost: 'proxy.rehearsal', awsEndpoint: 'http://aws.rehearsal' });
      const network = new Network(stacks);
      const api = s.built.api.stackName;
      for (const [name, def] of tableEntries()) {
        const ref = { stack: api, id: functionByName(s.api, name).id };
        const inVpc = network.vpcConfig(ref) !== undefined;
        const actions = actionsOf(s.api, name);
        const services = ['sqs', 'events', 'secretsmanager'].filter((service) =>
          actions.some((a) => a.startsWith(`${service}:`)),
        );
        expect([
          name,
          {
            https: network.reachesInternet(ref, 443),
            otherPorts: inVpc && [22, 80, 5432, 8080].some((port) => network.reachesInternet(ref, port)),
            proxy: inVpc && network.reachesProxy(ref),
            services: services.filter((service) => network.reachesAwsService(ref, service)),
          },
        ]).toEqual([
          name,
          {
            // a function outside the VPC has Lambda's own way out
            https: def.needs.includes('internet') || !inVpc,
            otherPorts: false,
            proxy: def.needs.includes('database') || def.needs.includes('databaseAdmin'),
            services,
          },
        ]);
      }
    }
  });

  it("keep the gateways' secret keys in one Secrets Manager secret, readable by exactly the functions that need it", () => {
    for (const s of [dev, prod]) {
      const secret = logicalResource(s.data, 'GatewaySecrets');
      const generated = secret.Properties.GenerateSecretString;
      // placeholders the operator replaces (README "Deploying"), in the shape the functions read
      expect(Object.keys(JSON.parse(generated.SecretStringTemplate))).toEqual([
        'TOSS_SECRET_KEY',
        'PORTONE_API_SECRET',
        'PORTONE_WEBHOOK_SECRET',
      ]);
      expect(JSON.parse(generated.SecretStringTemplate)).not.toHaveProperty(generated.GenerateStringKey);
      for (const [name] of tableEntries()) {
        const fn = functionByName(s.api, name);
        const role = fn.Properties.Role['Fn::GetAtt'][0] as string;
        const reads = policyStatementsOf(s.api, role)
          .filter((st) => mentions(st.Resource, secret.id))
          .flatMap((st) => [st.Action].flat());
        const variables = fn.Properties.Environment.Variables;
        const needs = needsOf(name).includes('gatewaySecrets');
        expect([name, mentions(variables.GATEWAY_SECRETS_ARN, secret.id), reads.sort()]).toEqual([
          name,
          needs,
          needs ? [...GATEWAY_SECRET_ACTIONS].sort() : [],
        ]);
        // the keys themselves never sit in a function's configuration
        expect([
          name,
          Object.keys(variables).filter((k) => /SECRET_KEY|API_SECRET|WEBHOOK_SECRET$/.test(k)),
        ]).toEqual([name, []]);
      }
    }
    expect(prod.data.toJSON().Resources[logicalResource(prod.data, 'GatewaySecrets').id].DeletionPolicy).toBe(
      'Retain',
    );
  });

  it("give exactly the functions that need them their environment's gateway settings, every API base on https 443", () => {
    for (const s of [dev, prod]) {
      const { gateways } = s.built.config;
      for (const [name] of tableEntries()) {
        const variables = functionByName(s.api, name).Properties.Environment.Variables;
        expect([name, Object.keys(gateways).filter((k) => k in variables)]).toEqual([
          name,
          needsOf(name).includes('gatewaySettings') ? Object.keys(gateways) : [],
        ]);
        if (needsOf(name).includes('gatewaySettings')) expect(variables).toMatchObject(gateways);
      }
      // whoever calls a gateway knows where it is
      for (const [name] of tableEntries().filter(([n]) => needsOf(n).includes('internet'))) {
        expect([name, needsOf(name).includes('gatewaySettings')]).toEqual([name, true]);
      }
      for (const [setting, value] of Object.entries(gateways).filter(([k]) => k.endsWith('_API_BASE'))) {
        expect([setting, reachableThroughEgress(value)]).toEqual([setting, true]);
      }
    }
    // dev on the gateways' own APIs in test mode (the keys decide); prod's merchant settings from the deploy
    expect(dev.built.config.gateways).toMatchObject({
      TOSS_API_BASE: 'https://api.tosspayments.com',
      PORTONE_API_BASE: 'https://api.portone.io',
      TOSS_CLIENT_KEY: expect.stringMatching(/^test_ck_/),
    });
    expect(prod.built.config.gateways).toMatchObject({
      TOSS_CLIENT_KEY: PROD_CONTEXT.tossClientKey,
      PORTONE_STORE_ID: PROD_CONTEXT.portoneStoreId,
      PORTONE_CHANNEL_KEY: PROD_CONTEXT.portoneChannelKey,
      BUILTIN_PG_API_BASE: PROD_CONTEXT.builtinPgApiBase,
    });
    const context = (values: Record<string, string>) => (key: string) => values[key];
    expect(() => environmentFrom(context({ env: 'dev', builtinPgApiBase: 'http://pg.example' }))).toThrow(
      /BUILTIN_PG_API_BASE must be an https URL on port 443/,
    );
    expect(() =>
      environmentFrom(context({ env: 'dev', builtinPgApiBase: 'https://pg.example:8443' })),
    ).toThrow(/port 443/);
  });

  it("queue refund requests: SSE, TLS only, a DLQ after 5 receives, visibility 6× the worker's timeout, failures per record", () => {
    for (const s of [dev, prod]) {
      const queue = logicalResource(s.api, 'RefundRequests');
      const dlq = logicalResource(s.api, 'RefundRequestsDlq');
      const worker = functionByName(s.api, 'refundWorker');
      const processor = functionByName(s.api, 'paymentProcessor');
      expect(queue.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 6 * worker.Properties.Timeout,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq.id, 'Arn'] }, maxReceiveCount: 5 },
      });
      expect(dlq.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 86_400,
      });
      // each queue's visibility follows its own consumer
      expect(logicalResource(s.api, 'PaymentEvents').Properties.VisibilityTimeout).toBe(
        6 * processor.Properties.Timeout,
      );
      for (const q of [queue, dlq]) {
        s.api.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: q.id }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
      s.api.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: worker.id },
        EventSourceArn: { 'Fn::GetAtt': [queue.id, 'Arn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 5,
      });
      s.api.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: processor.id },
        EventSourceArn: { 'Fn::GetAtt': [logicalResource(s.api, 'PaymentEvents').id, 'Arn'] },
      });
      s.api.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    }
  });

  it('route refund.requested from the outbox on the domain bus to the refund queue, retried for a day, then to a DLQ of its own', () => {
    for (const s of [dev, prod]) {
      const rules = Object.entries(s.api.findResources('AWS::Events::Rule') as Resources);
      expect(rules).toHaveLength(1);
      const [ruleId, rule] = rules[0]!;
      const queue = logicalResource(s.api, 'RefundRequests');
      const undelivered = logicalResource(s.api, 'RefundRequestsUndelivered');
      expect(rule.Properties).toMatchObject({
        EventBusName: { Ref: logicalResource(s.api, 'DomainEvents').id },
        EventPattern: { source: [EVENT_SOURCE], 'detail-type': ['refund.requested'] },
        Targets: [
          {
            Arn: { 'Fn::GetAtt': [queue.id, 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [undelivered.id, 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
          },
        ],
      });
      expect(undelivered.Properties.SqsManagedSseEnabled).toBe(true);
      // the bus may send to both, and only from this rule
      for (const q of [queue, undelivered]) {
        const policy = Object.values(s.api.findResources('AWS::SQS::QueuePolicy') as Resources).find(
          (p) => p.Properties.Queues[0].Ref === q.id,
        )!;
        const fromBus = (policy.Properties.PolicyDocument.Statement as any[]).filter(
          (st) => st.Principal?.Service === 'events.amazonaws.com',
        );
        expect(
          fromBus.map((st) => [st.Effect, [st.Action].flat().includes('sqs:SendMessage'), st.Condition]),
        ).toEqual([['Allow', true, { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } }]]);
      }
    }
  });

  it("alarm where the other alarms go when a refund is stuck or failed for good: its DLQ, undelivered requests, the worker's RefundFailed", () => {
    for (const s of [dev, prod]) {
      const topic = logicalResource(s.api, 'Alarms').id;
      const queueAlarm = (alarm: string, queue: string) =>
        expect(logicalResource(s.api, alarm).Properties).toMatchObject({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [
            { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalResource(s.api, queue).id, 'QueueName'] } },
          ],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          AlarmActions: [{ Ref: topic }],
        });
      queueAlarm('RefundDlqNotEmpty', 'RefundRequestsDlq');
      queueAlarm('RefundRequestsUndeliveredNotEmpty', 'RefundRequestsUndelivered');
      // what the worker's Powertools metrics emit: our namespace, the `service` dimension
      expect(logicalResource(s.api, 'RefundFailed').Properties).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: REFUND_FAILED_METRIC,
        Dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topic }],
      });
    }
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
  gatewaySettings: [],
  gatewaySecrets: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
  waitingRoomSecret: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
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
      s.data.resourceCountIs('AWS::SecretsManager::Secret', 5);
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
    expect(secrets.map((s) => s.DeletionPolicy)).toEqual(['Retain', 'Retain', 'Retain', 'Retain', 'Retain']);
  });
});

describe('deployment rehearsal: every function runs with exactly what its stack gives it', () => {
  let pg: ProxyStandIn;
  const aws = new LocalAws();
  const gateways = new GatewayStandIn();
  beforeAll(async () => {
    pg = await startProxyStandIn();
    await aws.start();
  }, 120_000);
  afterAll(async () => {
    await gateways.stop();
    await aws.stop();
    await pg?.stop();
  });

  for (const env of ['dev', 'prod'] as const) {
    it(`${env}: no function crashes, answers 5xx or misses a setting, every AWS call is granted and reachable, every gateway call has a way out`, async () => {
      const outcomes = await rehearse(env === 'dev' ? dev : prod, pg, aws, gateways);

      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
      expect(aws.calls.filter((c) => !c.allowed)).toEqual([]);
      expect(gateways.calls.filter((c) => !c.allowed)).toEqual([]);
      // the webhook → queue → processor path really ran, through the granted calls
      expect(outcomes.map((o) => o.trigger)).toEqual(expect.arrayContaining(['deploy trigger', 'SQS (1)']));
      // and the refund path: the sample event is a success of the wrong amount, so the processor
      // requests a refund, the relay publishes it, the bus rule queues it, the worker sends it to the
      // built-in gateway (through the NAT), signing with the webhook key it reads from its secret
      const worker = `${env === 'dev' ? dev.built.api.stackName : prod.built.api.stackName}/${
        functionByName(env === 'dev' ? dev.api : prod.api, 'refundWorker').id
      }`;
      expect(outcomes.filter((o) => o.function === worker).map((o) => o.trigger)).toEqual(['SQS (1)']);
      expect(
        gateways.calls.filter((c) => c.caller === worker).map((c) => [c.setting, c.method, c.url]),
      ).toEqual([
        [
          'BUILTIN_PG_API_BASE',
          'POST',
          expect.stringMatching(/^https:\/\/[^/]+\/v1\/payments\/pay_\w+\/cancel$/),
        ],
        // the stand-in refuses it (404): the worker asks whether the money is back already
        ['BUILTIN_PG_API_BASE', 'GET', expect.stringMatching(/^https:\/\/[^/]+\/v1\/payments\/pay_\w+$/)],
      ]);
      expect(
        aws.calls.some(
          (c) =>
            c.caller === worker &&
            c.action === 'secretsmanager:GetSecretValue' &&
            c.resource.includes('PgWebhookSecret'),
        ),
      ).toBe(true);
      expect(new Set(outcomes.map((o) => o.function)).size).toBe(
        ourFunctions(env === 'dev' ? dev.api : prod.api).length,
      );
    }, 600_000);
  }

  it("delivers the outbox relay's refund.requested to the refund queue through the bus rule, and only that", async () => {
    const stacks = await stacksOf(dev, { proxyHost: pg.host, awsEndpoint: aws.endpoint });
    aws.use(stacks);
    const api = dev.built.api.stackName;
    const relay = functionByName(dev.api, 'outboxRelay');
    const client = new EventBridgeClient({
      endpoint: aws.endpoint,
      region: dev.built.api.region,
      credentials: aws.credentialsFor(api, relay.id),
    });
    // what the relay sends (functions/adapters/eventbridge-publisher.ts), to the bus its settings name
    const publisher = new EventBridgePublisher(
      stacks.resolve(api, relay.Properties.Environment.Variables.EVENT_BUS_NAME),
      client,
    );
    const publish = (detailType: string, id: number) =>
      publisher.publish([{ id, detailType, detail: { refundId: id }, createdAt: new Date() }]);
    const callsBefore = aws.calls.length;

    expect(await publish('refund.requested', 1)).toEqual([]);
    expect(await publish('order.refunded', 2)).toEqual([]);

    const refundQueue = stacks.resolve(api, {
      'Fn::GetAtt': [dev.built.api.getLogicalId(dev.built.api.refundQueue.node.defaultChild as never), 'Arn'],
    });
    const delivered = aws.messages.filter((m) => m.queueArn === refundQueue).map((m) => JSON.parse(m.body));
    expect(delivered).toEqual([
      expect.objectContaining({
        source: EVENT_SOURCE,
        'detail-type': 'refund.requested',
        detail: { refundId: 1, outboxId: 1 },
      }),
    ]);
    expect(aws.messages).toHaveLength(1);
    expect(aws.calls.slice(callsBefore).map((c) => [c.action, c.allowed])).toEqual([
      ['events:PutEvents', true],
      ['sqs:SendMessage', true],
      ['events:PutEvents', true],
    ]);
  });

  it('refuses a proxy whose certificate does not chain to the trusted CAs', async () => {
    const connect = (ca?: string) => {
      const sql = createSql({ proxyHost: pg.host, database: 'postgres', user: 'postgres', ca });
      return sql`select 1 as one`.finally(() => sql.end());
    };

    await expect(connect()).rejects.toThrow(/certificate/i);
    await expect(connect(readFileSync(pg.caFile, 'utf8'))).resolves.toEqual([{ one: 1 }]);
  });
});

describe('the web app (issue 16): private bucket, CloudFront in front of the files and the API', () => {
  const distributionOf = (s: Synthesized) =>
    Object.values(s.web.findResources('AWS::CloudFront::Distribution') as Resources)[0]!.Properties
      .DistributionConfig;
  /** CloudFront's path patterns: `*` any characters (`/` too), `?` one, case-sensitive. */
  const matches = (pattern: string, path: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(path);
  /** The origin CloudFront sends `path` to: the first behaviour whose pattern matches, else the default. */
  const originFor = (config: any, path: string) =>
    (config.CacheBehaviors.find((b: any) => matches(b.PathPattern, path)) ?? config.DefaultCacheBehavior)
      .TargetOriginId as string;
  const originsOf = (config: any) => {
    const s3 = config.Origins.find((o: any) => o.S3OriginConfig);
    const api = config.Origins.find((o: any) => o.CustomOriginConfig);
    return { s3, api };
  };

  it('keep the files in a bucket no one reaches but CloudFront, over TLS only', () => {
    for (const s of [dev, prod]) {
      const site = logicalResource(s.web, 'Site');
      expect(site.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(site.Properties.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
      expect(site.Properties.WebsiteConfiguration).toBeUndefined();
      const policy = Object.values(s.web.findResources('AWS::S3::BucketPolicy') as Resources).find(
        (p) => p.Properties.Bucket.Ref === site.id,
      )!;
      const statements = policy.Properties.PolicyDocument.Statement as any[];
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
      // the only reader: CloudFront for this one distribution (origin access control); in dev CDK's
      // auto-delete handler may empty the bucket when the stack goes
      const allows = statements.filter(
        (st) =>
          st.Effect === 'Allow' &&
          !(
            s.env === 'dev' &&
            JSON.stringify(st.Principal).includes('AutoDeleteObjectsCustomResourceProvider')
          ),
      );
      expect(allows.length).toBe(
        statements.filter((st) => st.Effect === 'Allow').length - (s.env === 'dev' ? 1 : 0),
      );
      expect(allows).toEqual([
        expect.objectContaining({
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: 's3:GetObject',
          Condition: {
            StringEquals: {
              'AWS:SourceArn': expect.objectContaining({ 'Fn::Join': expect.anything() }),
            },
          },
        }),
      ]);
      expect(JSON.stringify(allows[0].Condition)).toContain(logicalResource(s.web, 'Distribution').id);
    }
  });

  it('read the bucket through an origin access control that signs every request, with no legacy identity', () => {
    dev.web.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: {
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      },
    });
    dev.web.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    const { s3 } = originsOf(distributionOf(dev));
    expect(s3.OriginAccessControlId['Fn::GetAtt'][0]).toMatch(/OriginAccessControl/);
    expect(s3.S3OriginConfig.OriginAccessIdentity).toBe('');
  });

  it('send every API path to the HTTP API uncached with every viewer header but Host, and the rest to the files', () => {
    const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
    const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
    for (const s of [dev, prod]) {
      const config = distributionOf(s);
      const { s3, api } = originsOf(config);
      expect(JSON.stringify(api.DomainName)).toContain('.execute-api.');
      expect(api.CustomOriginConfig).toMatchObject({
        OriginProtocolPolicy: 'https-only',
        OriginSSLProtocols: ['TLSv1.2'],
      });
      for (const behavior of config.CacheBehaviors) {
        expect(behavior).toMatchObject({
          TargetOriginId: api.Id,
          ViewerProtocolPolicy: 'https-only',
          CachePolicyId: CACHING_DISABLED,
          OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
          AllowedMethods: expect.arrayContaining(['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS']),
        });
      }
      // every route a browser calls reaches the API, with a path parameter of any value
      for (const [, route] of deployedRoutes) {
        const path = route.path.replace(/\{[^}]+\}/g, '42');
        const expected = route.auth === 'webhook' ? s3.Id : api.Id;
        expect([route.path, originFor(config, path)]).toEqual([route.path, expected]);
      }
      // the apps' pages, files and settings come from the bucket, whatever the hash route
      for (const path of [
        '/',
        '/index.html',
        '/console/',
        '/console/index.html',
        '/config.json',
        '/assets/fan-ABC.js',
      ])
        expect([path, originFor(config, path)]).toEqual([path, s3.Id]);
      // CloudFront's default quota is 25 behaviours per distribution
      expect(config.CacheBehaviors.length).toBeLessThanOrEqual(25);
      expect(config.DefaultCacheBehavior).toMatchObject({
        TargetOriginId: s3.Id,
        ViewerProtocolPolicy: 'redirect-to-https',
        AllowedMethods: ['GET', 'HEAD'],
      });
      expect(config.DefaultRootObject).toBe('index.html');
      // no error-page fallback: it would turn the API's 403/404 problems into the app's page
      expect(config.CustomErrorResponses).toBeUndefined();
    }
  });

  it("give the apps' folders their index.html at the edge, and rewrite nothing else", () => {
    const fn = Object.values(dev.web.findResources('AWS::CloudFront::Function') as Resources)[0]!;
    expect(fn.Properties.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
    const association = distributionOf(dev).DefaultCacheBehavior.FunctionAssociations;
    expect(association).toEqual([
      {
        EventType: 'viewer-request',
        FunctionARN: { 'Fn::GetAtt': [expect.stringMatching(/^AppPages/), 'FunctionARN'] },
      },
    ]);
    // the deployed code, run as CloudFront runs it on a viewer request
    const handler = new Function(`${fn.Properties.FunctionCode}; return handler;`)() as (
      event: unknown,
    ) => any;
    const viewer = (uri: string) => handler({ request: { uri, headers: {} } });
    expect(viewer('/').uri).toBe('/index.html');
    expect(viewer('/console/').uri).toBe('/console/index.html');
    expect(viewer('/orders-page').uri).toBe('/orders-page');
    expect(viewer('/assets/console-X1Y2.js').uri).toBe('/assets/console-X1Y2.js');
    expect(viewer('/config.json').uri).toBe('/config.json');
    expect(viewer('/console')).toMatchObject({
      statusCode: 301,
      headers: { location: { value: '/console/' } },
    });
  });

  it('answer every response with HSTS, nosniff, DENY framing and a CSP of self and the token endpoint', () => {
    for (const s of [dev, prod]) {
      const policy = Object.values(
        s.web.findResources('AWS::CloudFront::ResponseHeadersPolicy') as Resources,
      )[0]!;
      const headers = policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
      expect(headers.StrictTransportSecurity).toEqual({
        AccessControlMaxAgeSec: 31_536_000,
        IncludeSubdomains: true,
        Override: true,
      });
      expect(headers.ContentTypeOptions).toEqual({ Override: true });
      expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
      expect(headers.ReferrerPolicy.ReferrerPolicy).toBe('strict-origin-when-cross-origin');
      const csp = Object.fromEntries(
        (headers.ContentSecurityPolicy.ContentSecurityPolicy as string)
          .split('; ')
          .map((d) => [d.split(' ')[0], d.split(' ').slice(1)]),
      );
      const tokenOrigin = new URL(s.built.config.signIn.tokenEndpoint).origin;
      expect(csp).toMatchObject({
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'connect-src': ["'self'", tokenOrigin],
        'object-src': ["'none'"],
        'frame-ancestors': ["'none'"],
      });
      // the API is this origin: no other host may be called, framed or loaded from
      expect(
        Object.values(csp)
          .flat()
          .filter((v) => /^https?:/.test(v as string)),
      ).toEqual([tokenOrigin]);
      const config = distributionOf(s);
      const policyId = { Ref: logicalResource(s.web, 'SecurityHeaders').id };
      for (const behavior of [config.DefaultCacheBehavior, ...config.CacheBehaviors])
        expect(behavior.ResponseHeadersPolicyId).toEqual(policyId);
    }
  });

  it("deploy the built files and a config.json with the environment's sign-in, invalidating the edge", async () => {
    for (const s of [dev, prod]) {
      const deployment = Object.values(s.web.findResources('Custom::CDKBucketDeployment') as Resources)[0]!;
      expect(deployment.Properties).toMatchObject({
        DestinationBucketName: { Ref: logicalResource(s.web, 'Site').id },
        DistributionPaths: ['/*'],
        Prune: true,
      });
      const keys = deployment.Properties.SourceObjectKeys as string[];
      const [files, settings] = keys.map((k) => join(s.outdir, `asset.${k.replace(/\.zip$/, '')}`));
      expect(readFileSync(join(files!, 'index.html'), 'utf8')).toContain('<div id="app">');
      expect(readFileSync(join(files!, 'console', 'index.html'), 'utf8')).toContain('<div id="app">');
      const config = JSON.parse(readFileSync(join(settings!, 'config.json'), 'utf8'));
      const { signIn, jwtIssuer, jwtAudience } = s.built.config;
      expect(config.auth).toMatchObject({
        mode: 'oidc',
        issuer: jwtIssuer,
        clientId: jwtAudience[0],
        authorizationEndpoint: signIn.authorizationEndpoint,
        tokenEndpoint: signIn.tokenEndpoint,
        scopes: ['openid', 'email', 'profile'],
      });
      // the redirect is the distribution's own address, filled in at deploy time
      const markers = deployment.Properties.SourceMarkers[1];
      expect(config.auth.redirectUris.fan).toMatch(/^https:\/\/<<marker:0xbaba:\d>>\/$/);
      expect(config.auth.redirectUris.console).toMatch(/^https:\/\/<<marker:0xbaba:\d>>\/console\/$/);
      expect(Object.values(markers)).toEqual([
        { 'Fn::GetAtt': [logicalResource(s.web, 'Distribution').id, 'DomainName'] },
        { 'Fn::GetAtt': [logicalResource(s.web, 'Distribution').id, 'DomainName'] },
      ]);
    }
    prod.web.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ Logging: Match.objectLike({ Prefix: 'cloudfront/' }) }),
    });
  });

  it("take the web app's client id from the API's audience and refuse one the API would not accept", () => {
    const context = (values: Record<string, string>) => (key: string) => values[key];
    expect(environmentFrom(context({ env: 'dev', jwtAudience: 'pool-client' })).signIn.clientId).toBe(
      'pool-client',
    );
    expect(() => environmentFrom(context({ env: 'dev', webClientId: 'other-client' }))).toThrow(
      /not in jwtAudience/,
    );
    expect(() =>
      environmentFrom(context({ env: 'dev', oidcTokenEndpoint: 'http://login.example/token' })),
    ).toThrow(/https/);
    // the provider's logout, when given, is the environment's too (and https like the others)
    expect(
      environmentFrom(context({ env: 'dev', oidcEndSessionEndpoint: 'https://login.example/logout' })).signIn
        .endSessionEndpoint,
    ).toBe('https://login.example/logout');
    expect(() =>
      environmentFrom(context({ env: 'dev', oidcEndSessionEndpoint: 'http://login.example/logout' })),
    ).toThrow(/https/);
    const { oidcAuthorizationEndpoint: _, ...withoutEndpoint } = PROD_CONTEXT;
    expect(() => environmentFrom(context({ env: 'prod', ...withoutEndpoint }))).toThrow(
      /-c oidcAuthorizationEndpoint=\.\.\./,
    );
  });
});

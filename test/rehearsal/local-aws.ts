import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { iamMatches, type Stacks } from './cloudformation';
import { Network } from './network';

export interface AwsCall {
  caller: string;
  action: string;
  resource: string;
  allowed: boolean;
  /** Granted, but the caller's network does not reach the service (no endpoint it may use). */
  unreachable?: true;
}

export interface QueuedMessage {
  queueArn: string;
  body: string;
  attributes: Record<string, { DataType: string; StringValue?: string }>;
}

/**
 * The AWS APIs the functions call, on one local endpoint (AWS_ENDPOINT_URL): Secrets Manager's
 * GetSecretValue, SQS's SendMessage and EventBridge's PutEvents. Each caller is known by the
 * access key the rehearsal gave its process, and each call is allowed only if the policies the
 * template attaches to that function's role allow the action on the resource, as IAM would, and
 * the function's network reaches the service (a VPC function through its interface endpoint).
 * Events put on a bus go where the template's rules send them: to a queue if its policy lets the
 * rule send, as EventBridge would.
 */
export class LocalAws {
  readonly calls: AwsCall[] = [];
  readonly messages: QueuedMessage[] = [];
  readonly events: unknown[] = [];
  private readonly callers = new Map<string, { stack: string; functionId: string }>();
  private readonly secretValues = new Map<string, string>();
  private network?: Network;
  private server?: Server;
  endpoint = '';

  constructor(private stacks?: Stacks) {}

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      this.handle(request)
        .then(({ status, body }) => {
          response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
          response.end(JSON.stringify(body));
        })
        .catch((error: Error) => {
          response.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
          response.end(JSON.stringify({ __type: 'InternalFailure', message: error.message }));
        });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  async stop() {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** A new environment's templates; what earlier ones recorded stays for the report. */
  use(stacks: Stacks) {
    this.stacks = stacks;
    this.network = new Network(stacks);
    this.messages.length = 0;
  }

  /** Credentials for one function's process: the access key names the caller. */
  credentialsFor(stack: string, functionId: string) {
    const accessKeyId = `AKIAREHEARSAL${this.callers.size.toString().padStart(6, '0')}`;
    this.callers.set(accessKeyId, { stack, functionId });
    return { accessKeyId, secretAccessKey: 'rehearsal-secret-key', sessionToken: 'rehearsal-session' };
  }

  /** The test value of a secret, made the way its template asks (a JSON template plus a key). */
  secretValue(arn: string): string | undefined {
    if (this.secretValues.has(arn)) return this.secretValues.get(arn);
    for (const { stack, id, resource } of this.stacks!.resourcesOfType('AWS::SecretsManager::Secret')) {
      if (this.stacks!.resolve(stack, { Ref: id }) !== arn) continue;
      const generate = resource.Properties?.GenerateSecretString ?? {};
      const random = randomBytes(24).toString('hex');
      const value = generate.SecretStringTemplate
        ? JSON.stringify({
            ...JSON.parse(generate.SecretStringTemplate),
            [generate.GenerateStringKey]: random,
          })
        : random;
      this.secretValues.set(arn, value);
      return value;
    }
    return undefined;
  }

  private async handle(request: IncomingMessage) {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const input = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    const target = String(request.headers['x-amz-target'] ?? '');
    const key = /Credential=([^/]+)\//.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
    const caller = this.callers.get(key);
    if (!caller) return denied(`unknown caller ${key}`);
    const { region, account } = this.stacks!.local;

    switch (target) {
      case 'secretsmanager.GetSecretValue': {
        const arn = String(input.SecretId);
        if (!this.authorize(caller, 'secretsmanager:GetSecretValue', arn, 'secretsmanager'))
          return denied(arn);
        const value = this.secretValue(arn);
        if (value === undefined) return notFound('ResourceNotFoundException', arn);
        return ok({ ARN: arn, Name: arn.split(':').pop(), SecretString: value, VersionId: 'v1' });
      }
      case 'AmazonSQS.SendMessage': {
        const name = String(input.QueueUrl).split('/').pop();
        const arn = `arn:aws:sqs:${region}:${account}:${name}`;
        if (!this.authorize(caller, 'sqs:SendMessage', arn, 'sqs')) return denied(arn);
        const body = String(input.MessageBody);
        this.messages.push({ queueArn: arn, body, attributes: input.MessageAttributes ?? {} });
        return ok({
          MessageId: randomUUID(),
          MD5OfMessageBody: createHash('md5').update(body).digest('hex'),
        });
      }
      case 'AWSEvents.PutEvents': {
        const entries = (input.Entries ?? []) as PutEventsEntry[];
        const buses = entries.map((entry) => {
          const bus = entry.EventBusName ?? 'default';
          return bus.startsWith('arn:') ? bus : `arn:aws:events:${region}:${account}:event-bus/${bus}`;
        });
        for (const arn of buses) {
          if (!this.authorize(caller, 'events:PutEvents', arn, 'events')) return denied(arn);
        }
        this.events.push(...entries);
        for (const [i, entry] of entries.entries()) this.route(buses[i]!, entry);
        return ok({ FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) });
      }
      default:
        return notFound('UnknownOperationException', `The rehearsal does not serve ${target}`);
    }
  }

  /** What EventBridge does with an accepted event: every matching rule of the bus sends it on. */
  private route(busArn: string, entry: PutEventsEntry) {
    const stacks = this.stacks!;
    const { region, account } = stacks.local;
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account,
      time: entry.Time ?? new Date().toISOString(),
      region,
      resources: entry.Resources ?? [],
      detail: JSON.parse(entry.Detail ?? '{}'),
    };
    for (const { stack, id, resource } of stacks.resourcesOfType('AWS::Events::Rule')) {
      const bus = stacks.resolve(stack, resource.Properties!.EventBusName ?? 'default') as string;
      if (!busArn.endsWith(`/${bus}`) && busArn !== bus) continue;
      if (!matches(resource.Properties!.EventPattern, event)) continue;
      const ruleArn = stacks.resolve(stack, { 'Fn::GetAtt': [id, 'Arn'] }) as string;
      for (const target of resource.Properties!.Targets ?? []) {
        if (target.Input || target.InputPath || target.InputTransformer)
          throw new Error(`The rehearsal does not transform events (rule ${id})`);
        const arn = stacks.resolve(stack, target.Arn) as string;
        if (!arn.startsWith('arn:aws:sqs:'))
          throw new Error(`The rehearsal delivers only to queues (rule ${id})`);
        const allowed = this.queueAllows(arn, 'events.amazonaws.com', ruleArn);
        this.calls.push({
          caller: `${stack}/${id} (bus rule)`,
          action: 'sqs:SendMessage',
          resource: arn,
          allowed,
        });
        if (allowed) this.messages.push({ queueArn: arn, body: JSON.stringify(event), attributes: {} });
      }
    }
  }

  /** Whether a queue's resource policy lets a service principal send, from a source ARN. */
  private queueAllows(queueArn: string, service: string, sourceArn: string): boolean {
    const stacks = this.stacks!;
    for (const { stack, resource } of stacks.resourcesOfType('AWS::SQS::QueuePolicy')) {
      const queues = resource.Properties!.Queues.map((q: unknown) => stacks.resolve(stack, q)) as string[];
      if (!queues.some((url) => queueArn.endsWith(`:${url.split('/').pop()}`))) continue;
      const statements = stacks.resolve(stack, resource.Properties!.PolicyDocument.Statement) as any[];
      const allowed = statements.some((s) => {
        if (s.Effect !== 'Allow' || s.Principal?.Service !== service) return false;
        const actions = [s.Action].flat() as string[];
        const resources = [s.Resource].flat() as string[];
        const source = s.Condition?.ArnEquals?.['aws:SourceArn'] ?? s.Condition?.ArnLike?.['aws:SourceArn'];
        return (
          actions.some((a) => iamMatches(a, 'sqs:SendMessage', true)) &&
          resources.some((r) => iamMatches(r, queueArn)) &&
          (source === undefined || iamMatches(source, sourceArn))
        );
      });
      if (allowed) return true;
    }
    return false;
  }

  private authorize(
    caller: { stack: string; functionId: string },
    action: string,
    resource: string,
    service: string,
  ) {
    const granted = this.stacks!.statementsOfFunction(caller.stack, caller.functionId).some(
      (s) =>
        s.actions.some((a) => iamMatches(a, action, true)) &&
        s.resources.some((r) => iamMatches(r, resource)),
    );
    const reachable = this.network!.reachesAwsService(
      { stack: caller.stack, id: caller.functionId },
      service,
    );
    const allowed = granted && reachable;
    this.calls.push({
      caller: `${caller.stack}/${caller.functionId}`,
      action,
      resource,
      allowed,
      ...(granted && !reachable ? { unreachable: true } : {}),
    });
    return allowed;
  }
}

interface PutEventsEntry {
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Time?: string;
  Resources?: string[];
}

/**
 * EventBridge's matching, for the patterns this project writes: each field of the pattern is a
 * list of exact values (or a nested pattern for `detail`). Anything else throws, so a new kind of
 * pattern fails loudly instead of matching wrongly.
 */
function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = event[key];
    if (Array.isArray(expected)) {
      if (!expected.every((v) => typeof v === 'string' || typeof v === 'number'))
        throw new Error(`The rehearsal matches only exact values (pattern field ${key})`);
      return expected.includes(actual as string);
    }
    if (expected && typeof expected === 'object')
      return typeof actual === 'object' && actual !== null && matches(expected as never, actual as never);
    throw new Error(`Not an EventBridge pattern field: ${key}`);
  });
}

const ok = (body: unknown) => ({ status: 200, body });
const denied = (what: string) => ({
  status: 400,
  body: { __type: 'AccessDeniedException', message: `not authorized (${what})` },
});
const notFound = (type: string, message: string) => ({ status: 400, body: { __type: type, message } });

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { iamMatches, type Stacks } from './cloudformation';

export interface AwsCall {
  caller: string;
  action: string;
  resource: string;
  allowed: boolean;
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
 * template attaches to that function's role allow the action on the resource, as IAM would.
 */
export class LocalAws {
  readonly calls: AwsCall[] = [];
  readonly messages: QueuedMessage[] = [];
  readonly events: unknown[] = [];
  private readonly callers = new Map<string, { stack: string; functionId: string }>();
  private readonly secretValues = new Map<string, string>();
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
        if (!this.authorize(caller, 'secretsmanager:GetSecretValue', arn)) return denied(arn);
        const value = this.secretValue(arn);
        if (value === undefined) return notFound('ResourceNotFoundException', arn);
        return ok({ ARN: arn, Name: arn.split(':').pop(), SecretString: value, VersionId: 'v1' });
      }
      case 'AmazonSQS.SendMessage': {
        const name = String(input.QueueUrl).split('/').pop();
        const arn = `arn:aws:sqs:${region}:${account}:${name}`;
        if (!this.authorize(caller, 'sqs:SendMessage', arn)) return denied(arn);
        const body = String(input.MessageBody);
        this.messages.push({ queueArn: arn, body, attributes: input.MessageAttributes ?? {} });
        return ok({
          MessageId: randomUUID(),
          MD5OfMessageBody: createHash('md5').update(body).digest('hex'),
        });
      }
      case 'AWSEvents.PutEvents': {
        const entries = (input.Entries ?? []) as { EventBusName?: string }[];
        for (const entry of entries) {
          const bus = entry.EventBusName ?? 'default';
          const arn = bus.startsWith('arn:') ? bus : `arn:aws:events:${region}:${account}:event-bus/${bus}`;
          if (!this.authorize(caller, 'events:PutEvents', arn)) return denied(arn);
        }
        this.events.push(...entries);
        return ok({ FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) });
      }
      default:
        return notFound('UnknownOperationException', `The rehearsal does not serve ${target}`);
    }
  }

  private authorize(caller: { stack: string; functionId: string }, action: string, resource: string) {
    const allowed = this.stacks!.statementsOfFunction(caller.stack, caller.functionId).some(
      (s) =>
        s.actions.some((a) => iamMatches(a, action, true)) &&
        s.resources.some((r) => iamMatches(r, resource)),
    );
    this.calls.push({ caller: `${caller.stack}/${caller.functionId}`, action, resource, allowed });
    return allowed;
  }
}

const ok = (body: unknown) => ({ status: 200, body });
const denied = (what: string) => ({
  status: 400,
  body: { __type: 'AccessDeniedException', message: `not authorized (${what})` },
});
const notFound = (type: string, message: string) => ({ status: 400, body: { __type: type, message } });

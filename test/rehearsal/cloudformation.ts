/**
 * What CloudFormation would put in place of the tokens of a synthesized template, with local
 * stand-ins: the proxy endpoint is the local PostgreSQL, queue URLs and ARNs point at the local
 * AWS endpoint, secrets and functions get ARNs of this rehearsal's account. Exports are followed
 * across stacks. Anything it does not understand throws, so a new kind of token fails loudly.
 */
export interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, any>; [key: string]: any }>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Parameters?: Record<string, { Default?: unknown }>;
}

export interface LocalCloud {
  region: string;
  account: string;
  /** Replaces every RDS Proxy endpoint. */
  proxyHost: string;
  /** The local AWS endpoint (queues are URLs under it). */
  awsEndpoint: string;
}

export class Stacks {
  constructor(
    readonly templates: Record<string, Template>,
    readonly local: LocalCloud,
  ) {}

  resource(stack: string, id: string) {
    const r = this.templates[stack]?.Resources[id];
    if (!r) throw new Error(`${stack} has no resource ${id}`);
    return r;
  }

  /** The value CloudFormation would give `value` (a literal or an intrinsic function) in `stack`. */
  resolve(stack: string, value: unknown): any {
    if (Array.isArray(value)) return value.map((v) => this.resolve(stack, v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [key, arg] = entries[0] ?? [];
    if (entries.length !== 1 || !(key === 'Ref' || key!.startsWith('Fn::'))) {
      return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(stack, v)]));
    }
    switch (key) {
      case 'Ref':
        return this.ref(stack, arg as string);
      case 'Fn::GetAtt': {
        const [id, attribute] = typeof arg === 'string' ? arg.split(/\.(.*)/) : (arg as string[]);
        return this.getAtt(stack, id!, attribute!);
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return (this.resolve(stack, parts) as unknown[]).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [number, unknown];
        return (this.resolve(stack, list) as unknown[])[Number(index)];
      }
      case 'Fn::Split': {
        const [separator, text] = arg as [string, unknown];
        return String(this.resolve(stack, text)).split(separator);
      }
      case 'Fn::ImportValue':
        return this.importValue(String(this.resolve(stack, arg)));
      default:
        throw new Error(`The rehearsal does not know ${key} (in ${stack})`);
    }
  }

  private ref(stack: string, id: string): string {
    const { region, account } = this.local;
    const pseudo: Record<string, string> = {
      'AWS::Region': region,
      'AWS::AccountId': account,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack,
    };
    if (id in pseudo) return pseudo[id]!;
    const parameter = this.templates[stack]?.Parameters?.[id];
    if (parameter) return String(parameter.Default ?? `local-${id}`);
    const r = this.resource(stack, id);
    switch (r.Type) {
      case 'AWS::SQS::Queue':
        return `${this.local.awsEndpoint}/${account}/${stack}-${id}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${region}:${account}:secret:${stack}-${id}`;
      case 'AWS::SecretsManager::SecretTargetAttachment':
        return this.resolve(stack, r.Properties!.SecretId);
      case 'AWS::Lambda::Function':
        return `${stack}-${id}`;
      case 'AWS::Lambda::Version':
        return `${this.resolve(stack, r.Properties!.FunctionName)}:1`;
      case 'AWS::Events::EventBus':
        return this.resolve(stack, r.Properties!.Name);
      default:
        return `${stack}-${id}`;
    }
  }

  private getAtt(stack: string, id: string, attribute: string): string {
    const { region, account } = this.local;
    const r = this.resource(stack, id);
    const key = `${r.Type}.${attribute}`;
    switch (key) {
      case 'AWS::SQS::Queue.Arn':
        return `arn:aws:sqs:${region}:${account}:${stack}-${id}`;
      case 'AWS::SQS::Queue.QueueUrl':
        return this.ref(stack, id);
      case 'AWS::SQS::Queue.QueueName':
        return `${stack}-${id}`;
      case 'AWS::Lambda::Function.Arn':
        return `arn:aws:lambda:${region}:${account}:function:${stack}-${id}`;
      case 'AWS::Events::EventBus.Arn':
        return `arn:aws:events:${region}:${account}:event-bus/${this.resolve(stack, r.Properties!.Name)}`;
      case 'AWS::RDS::DBProxy.Endpoint':
        return this.local.proxyHost;
      case 'AWS::RDS::DBProxy.DBProxyArn':
        return `arn:aws:rds:${region}:${account}:db-proxy:prx-${id.toLowerCase()}`;
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:aws:logs:${region}:${account}:log-group:${stack}-${id}:*`;
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${account}:role/${stack}-${id}`;
      default:
        if (attribute === 'Arn') return `arn:aws:local:${region}:${account}:${stack}-${id}`;
        return `${stack}-${id}.${attribute}`;
    }
  }

  private importValue(name: string): unknown {
    for (const [stack, template] of Object.entries(this.templates)) {
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export && this.resolve(stack, output.Export.Name) === name) {
          return this.resolve(stack, output.Value);
        }
      }
    }
    throw new Error(`No stack exports ${name}`);
  }

  /** Every resource of a type, with its stack. */
  *resourcesOfType(type: string) {
    for (const [stack, template] of Object.entries(this.templates)) {
      for (const [id, r] of Object.entries(template.Resources)) {
        if (r.Type === type) yield { stack, id, resource: r };
      }
    }
  }

  /** The Allow statements of the policies attached to a function's role, resolved. */
  statementsOfFunction(stack: string, functionId: string) {
    const roleId = this.resource(stack, functionId).Properties!.Role['Fn::GetAtt'][0] as string;
    const statements: { actions: string[]; resources: string[] }[] = [];
    for (const policy of this.resourcesOfType('AWS::IAM::Policy')) {
      if (policy.stack !== stack) continue;
      const roles = policy.resource.Properties!.Roles as { Ref: string }[];
      if (!roles.some((r) => r.Ref === roleId)) continue;
      for (const s of policy.resource.Properties!.PolicyDocument.Statement) {
        if (s.Effect !== 'Allow') continue;
        const list = (v: unknown) => (Array.isArray(v) ? v : [v]).map(String);
        statements.push({ actions: list(s.Action), resources: list(this.resolve(stack, s.Resource)) });
      }
    }
    return statements;
  }
}

/** IAM's matching: `*` any run of characters, `?` one; actions ignore case. */
export function iamMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

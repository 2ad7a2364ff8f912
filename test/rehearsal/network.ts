import type { Stacks } from './cloudformation';

/** A resource of the templates, by stack and logical id. */
export interface ResourceRef {
  stack: string;
  id: string;
}

interface Rule {
  protocol: string;
  fromPort: number;
  toPort: number;
  /** An IPv4 range, or the id of a security group (resolved). */
  cidr?: string;
  group?: string;
}

const ANYWHERE = '0.0.0.0/0';

/**
 * What a VPC lets a function reach, read from the templates as AWS would apply them: its subnets'
 * routes (a NAT for the internet), its security groups' egress rules and the target's ingress rules.
 * A function outside any VPC reaches the internet and AWS's public endpoints, nothing in the VPC.
 */
export class Network {
  constructor(private readonly stacks: Stacks) {}

  /** Whether the function can open a TCP connection to `port` on any address of the internet. */
  reachesInternet(fn: ResourceRef, port: number): boolean {
    const vpc = this.vpcConfig(fn);
    if (!vpc) return true;
    return (
      vpc.subnets.every((subnet) => this.natRouted(subnet)) &&
      vpc.groups.some((g) => this.egress(g).some((r) => allowsPort(r, port) && r.cidr === ANYWHERE))
    );
  }

  /**
   * Whether the function can open a TCP connection on `port` to whatever sits in `target` (a
   * security group id): its own groups must let it out and the target's must let it in.
   */
  reachesGroup(fn: ResourceRef, target: string, port: number): boolean {
    const vpc = this.vpcConfig(fn);
    if (!vpc) return false;
    const out = vpc.groups.some((g) =>
      this.egress(g).some((r) => allowsPort(r, port) && (r.cidr === ANYWHERE || r.group === target)),
    );
    const inbound = this.ingress(target).some(
      (r) =>
        allowsPort(r, port) &&
        (r.cidr === ANYWHERE || (r.group !== undefined && vpc.groups.includes(r.group))),
    );
    return out && inbound;
  }

  /**
   * Whether the function's calls to an AWS service (`sqs`, `events`, `secretsmanager`) arrive:
   * in a VPC with an interface endpoint for it, private DNS sends them to the endpoint, whose
   * security group must admit the function on 443; without one they need the internet.
   */
  reachesAwsService(fn: ResourceRef, service: string): boolean {
    if (!this.vpcConfig(fn)) return true;
    const endpoint = [...this.stacks.resourcesOfType('AWS::EC2::VPCEndpoint')].find(({ stack, resource }) =>
      String(this.stacks.resolve(stack, resource.Properties!.ServiceName)).endsWith(`.${service}`),
    );
    if (!endpoint) return this.reachesInternet(fn, 443);
    const groups = this.stacks.resolve(endpoint.stack, endpoint.resource.Properties!.SecurityGroupIds ?? []);
    return (groups as string[]).some((g) => this.reachesGroup(fn, g, 443));
  }

  /** Whether the function reaches the RDS Proxy on PostgreSQL's port. */
  reachesProxy(fn: ResourceRef): boolean {
    const proxies = [...this.stacks.resourcesOfType('AWS::RDS::DBProxy')];
    return proxies.some(({ stack, resource }) =>
      (this.stacks.resolve(stack, resource.Properties!.VpcSecurityGroupIds) as string[]).some((g) =>
        this.reachesGroup(fn, g, 5432),
      ),
    );
  }

  /** The function's subnets and security groups (resolved ids), or nothing outside a VPC. */
  vpcConfig(fn: ResourceRef): { subnets: string[]; groups: string[] } | undefined {
    const config = this.stacks.resource(fn.stack, fn.id).Properties?.VpcConfig;
    if (!config) return undefined;
    return {
      subnets: this.stacks.resolve(fn.stack, config.SubnetIds) as string[],
      groups: this.stacks.resolve(fn.stack, config.SecurityGroupIds) as string[],
    };
  }

  /** The egress rules of a security group (inline and separate), or all traffic if it has none. */
  egress(group: string): Rule[] {
    const { stack, resource } = this.securityGroup(group);
    const inline = resource.Properties!.SecurityGroupEgress as unknown[] | undefined;
    // CloudFormation gives a group without egress rules the allow-all one
    const own = inline
      ? inline.map((r) => this.rule(stack, r))
      : [{ protocol: '-1', fromPort: 0, toPort: 65535, cidr: ANYWHERE }];
    return [...own, ...this.separateRules('AWS::EC2::SecurityGroupEgress', group)];
  }

  /** The ingress rules of a security group (inline and separate). */
  ingress(group: string): Rule[] {
    const { stack, resource } = this.securityGroup(group);
    const inline = (resource.Properties!.SecurityGroupIngress ?? []) as unknown[];
    return [
      ...inline.map((r) => this.rule(stack, r)),
      ...this.separateRules('AWS::EC2::SecurityGroupIngress', group),
    ];
  }

  /** Whether a subnet's route table sends 0.0.0.0/0 to a NAT gateway that itself has a way out. */
  natRouted(subnet: string): boolean {
    const { nat } = this.defaultRoute(subnet);
    const found = this.find('AWS::EC2::NatGateway', (s, id) => this.stacks.resolve(s, { Ref: id }) === nat);
    if (!nat || !found) return false;
    const natSubnet = this.stacks.resolve(found.stack, found.resource.Properties!.SubnetId) as string;
    return (
      Boolean(found.resource.Properties!.AllocationId) &&
      this.defaultRoute(natSubnet).internetGateway !== undefined
    );
  }

  /** Where a subnet's route table sends 0.0.0.0/0 (resolved ids). */
  private defaultRoute(subnet: string): { nat?: string; internetGateway?: string } {
    const association = this.find(
      'AWS::EC2::SubnetRouteTableAssociation',
      (s, _id, r) => this.stacks.resolve(s, r.Properties!.SubnetId) === subnet,
    );
    if (!association) return {};
    const table = this.stacks.resolve(association.stack, association.resource.Properties!.RouteTableId);
    const route = this.find(
      'AWS::EC2::Route',
      (s, _id, r) =>
        this.stacks.resolve(s, r.Properties!.RouteTableId) === table &&
        r.Properties!.DestinationCidrBlock === ANYWHERE,
    );
    if (!route) return {};
    const { NatGatewayId, GatewayId } = route.resource.Properties!;
    return {
      nat: NatGatewayId && this.stacks.resolve(route.stack, NatGatewayId),
      internetGateway: GatewayId && this.stacks.resolve(route.stack, GatewayId),
    };
  }

  private securityGroup(group: string) {
    const found = this.find('AWS::EC2::SecurityGroup', (s, id) => this.groupId(s, id) === group);
    if (!found) throw new Error(`No security group ${group} in the templates`);
    return found;
  }

  private groupId(stack: string, id: string): string {
    return this.stacks.resolve(stack, { 'Fn::GetAtt': [id, 'GroupId'] });
  }

  private separateRules(type: string, group: string): Rule[] {
    return [...this.stacks.resourcesOfType(type)]
      .filter(({ stack, resource }) => this.stacks.resolve(stack, resource.Properties!.GroupId) === group)
      .map(({ stack, resource }) => this.rule(stack, resource.Properties));
  }

  private rule(stack: string, raw: unknown): Rule {
    const r = raw as Record<string, unknown>;
    const peer = r.SourceSecurityGroupId ?? r.DestinationSecurityGroupId;
    return {
      protocol: String(r.IpProtocol),
      fromPort: Number(r.FromPort ?? 0),
      toPort: Number(r.ToPort ?? 65535),
      ...(r.CidrIp !== undefined ? { cidr: String(this.stacks.resolve(stack, r.CidrIp)) } : {}),
      ...(peer !== undefined ? { group: String(this.stacks.resolve(stack, peer)) } : {}),
    };
  }

  private find(
    type: string,
    match: (stack: string, id: string, resource: { Properties?: Record<string, any> }) => boolean,
  ) {
    for (const entry of this.stacks.resourcesOfType(type)) {
      if (match(entry.stack, entry.id, entry.resource)) return entry;
    }
    return undefined;
  }
}

/** A rule's protocol and ports cover TCP to `port` (protocol -1 is every protocol and port). */
function allowsPort(rule: Rule, port: number): boolean {
  if (rule.protocol === '-1') return true;
  return (rule.protocol === 'tcp' || rule.protocol === '6') && rule.fromPort <= port && port <= rule.toPort;
}

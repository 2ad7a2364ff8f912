import { CfnOutput, Duration, Fn, Names, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from './environments';

export const DATABASE_NAME = 'ticketing';
export const APP_DB_USER = 'ticketing_app';
/** The cluster's generated admin login: migrations run as it. */
export const ADMIN_DB_USER = 'postgres';
/**
 * How long RDS Proxy waits for a free database connection before it fails the request. Part of
 * the time budget of an API call (lib/app.test.ts): it must fail before Lambda times out, so
 * the client gets a 503 with Retry-After rather than a 502 from API Gateway.
 */
export const PROXY_BORROW_TIMEOUT = Duration.seconds(5);

/** Availability zones of the VPC; prod's NAT gateways are one per zone. */
const AZS = 2;

/** The keys of the gateway secret (JSON), as functions/adapters/gateway-secrets.ts reads them. */
const GATEWAY_SECRET_KEYS = ['TOSS_SECRET_KEY', 'PORTONE_API_SECRET', 'PORTONE_WEBHOOK_SECRET'] as const;

export interface DataStackProps extends StackProps {
  config: EnvironmentConfig;
}

/**
 * The stateful half: network, Aurora PostgreSQL Serverless v2 and RDS Proxy. Kept apart from the
 * API so that redeploying functions can never replace the database.
 */
export class DataStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly cluster: rds.DatabaseCluster;
  readonly proxy: rds.DatabaseProxy;
  readonly appSecret: rds.DatabaseSecret;
  /** The HMAC secret PG webhooks are signed with: one per environment, set from the PG's console. */
  readonly webhookSecret: secretsmanager.Secret;
  /** The payment gateways' secret keys, one JSON secret per environment, set by the operator. */
  readonly gatewaySecrets: secretsmanager.Secret;
  /** The waiting room's token signing key (HS256), one per environment, generated. */
  readonly waitingRoomSecret: secretsmanager.Secret;
  /** Functions that talk to the database run in this security group. */
  readonly databaseClients: ec2.SecurityGroup;
  /**
   * Functions that call the payment gateways (the `internet` need) run in this one instead, in the
   * subnets with a NAT: HTTPS out to anywhere and the proxy, nothing else, nothing in.
   */
  readonly gatewayClients: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;

    // The database and most functions sit in isolated subnets: AWS APIs through endpoints, and
    // nothing else. Only the functions that call payment gateways sit in the egress subnets, whose
    // NAT gateways (in the public subnets, nothing else there) are their one way out.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: AZS,
      natGateways: config.natGateways === 'perAz' ? AZS : 1,
      // CIDRs are handed out in this order: 'isolated' first keeps the database's subnets where they
      // were before the others existed (a moved subnet would replace the cluster's subnet group)
      subnetConfiguration: [
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
        { name: 'egress', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        // only the NAT gateways live here, on their own elastic IPs
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26, mapPublicIpOnLaunch: false },
      ],
      flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });
    // Every flow of the egress subnets, accepted or not, with its destination (what left for the
    // internet, and where to): they carry only the gateway callers (a few KB a payment), so cheap
    const egressFlowLogs = new logs.LogGroup(this, 'EgressFlowLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.removalPolicy,
    });
    const egressFlowLogsRole = new iam.Role(this, 'EgressFlowLogsRole', {
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com'),
    });
    this.vpc
      .selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS })
      .subnets.forEach((subnet, i) => {
        new ec2.FlowLog(this, `EgressFlowLog${i + 1}`, {
          resourceType: ec2.FlowLogResourceType.fromSubnet(subnet),
          trafficType: ec2.FlowLogTrafficType.ALL,
          destination: ec2.FlowLogDestination.toCloudWatchLogs(egressFlowLogs, egressFlowLogsRole),
        });
      });
    new CfnOutput(this, 'EgressIps', {
      description: "The NAT gateways' addresses: every gateway call comes from one of them",
      value: Fn.join(
        ',',
        this.vpc.publicSubnets.flatMap((subnet) => {
          const eip = subnet.node.tryFindChild('EIP') as ec2.CfnEIP | undefined;
          return eip ? [eip.ref] : [];
        }),
      ),
    });

    this.databaseClients = new ec2.SecurityGroup(this, 'DatabaseClients', {
      vpc: this.vpc,
      description: 'Lambda functions that use the database',
    });
    this.gatewayClients = new ec2.SecurityGroup(this, 'GatewayClients', {
      vpc: this.vpc,
      description: 'Lambda functions that call payment gateways: HTTPS out, the proxy, nothing else',
      allowAllOutbound: false,
    });
    this.gatewayClients.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the payment gateways');
    // AWS APIs through endpoints that only the functions' security group may reach
    const endpoints = new ec2.SecurityGroup(this, 'Endpoints', {
      vpc: this.vpc,
      description: 'Interface endpoints',
      allowAllOutbound: false,
    });
    endpoints.addIngressRule(this.databaseClients, ec2.Port.tcp(443), 'functions to AWS APIs');
    // with private DNS, the gateway callers' AWS calls (their secret) go to the endpoints too, NAT or not
    endpoints.connections.allowFrom(this.gatewayClients, ec2.Port.tcp(443), 'gateway callers to AWS APIs');
    for (const [name, service] of [
      ['Sqs', ec2.InterfaceVpcEndpointAwsService.SQS],
      ['Events', ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE],
      ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
    ] as const) {
      this.vpc.addInterfaceEndpoint(name, {
        service,
        securityGroups: [endpoints],
        open: false,
        // where they always were: the default would follow the new egress subnets
        subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      });
    }
    const proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc: this.vpc,
      description: 'RDS Proxy',
    });
    proxySecurityGroup.addIngressRule(this.databaseClients, ec2.Port.tcp(5432), 'functions to the proxy');
    proxySecurityGroup.connections.allowFrom(
      this.gatewayClients,
      ec2.Port.tcp(5432),
      'gateway callers to the proxy',
    );

    // the same major as the embedded PostgreSQL used locally and in tests
    const engine = rds.DatabaseClusterEngine.auroraPostgres({
      version: rds.AuroraPostgresEngineVersion.VER_17_7,
    });
    this.cluster = new rds.DatabaseCluster(this, 'Database', {
      engine,
      // no connection without TLS, whoever connects (the proxy already requires it of clients)
      parameterGroup: new rds.ParameterGroup(this, 'DatabaseParameters', {
        engine,
        description: 'Aurora PostgreSQL for ticketing: TLS required',
        parameters: { 'rds.force_ssl': '1' },
      }),
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      defaultDatabaseName: DATABASE_NAME,
      credentials: rds.Credentials.fromGeneratedSecret(ADMIN_DB_USER),
      serverlessV2MinCapacity: config.minCapacity,
      serverlessV2MaxCapacity: config.maxCapacity,
      writer: rds.ClusterInstance.serverlessV2('writer', { publiclyAccessible: false }),
      readers: Array.from({ length: config.readers }, (_, i) =>
        rds.ClusterInstance.serverlessV2(`reader${i + 1}`, {
          scaleWithWriter: true,
          publiclyAccessible: false,
        }),
      ),
      iamAuthentication: true,
      storageEncrypted: true,
      deletionProtection: config.deletionProtection,
      removalPolicy: config.removalPolicy,
      backup: { retention: config.backupRetention, preferredWindow: '18:00-19:00' },
      cloudwatchLogsExports: ['postgresql'],
      monitoringInterval: Duration.seconds(60),
    });
    this.cluster.connections.allowDefaultPortFrom(proxySecurityGroup, 'proxy to the database');
    // the admin login outlives the stack exactly as long as the cluster it opens does
    (this.cluster.node.findChild('Secret') as rds.DatabaseSecret).applyRemovalPolicy(config.removalPolicy);
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
      reason: 'Enhanced Monitoring accepts only this AWS-managed policy on its role',
    });
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'Not rotated on a timer: RDS Proxy logs in with this secret, so the database password and the secret must change together. README "Deploying" has the by-hand procedure (modify-db-cluster, then put-secret-value)',
    });
    if (!config.deletionProtection) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions::AwsSolutions-RDS10',
        reason: `${config.name} is destroyable by design; prod enables deletion protection`,
      });
    }

    // The application's own login: the migration function creates the role with this password;
    // functions then connect through the proxy with IAM tokens, never with the password.
    this.appSecret = new rds.DatabaseSecret(this, 'AppSecret', { username: APP_DB_USER });
    this.appSecret.applyRemovalPolicy(config.removalPolicy);
    Validations.of(this.appSecret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'Read only by RDS Proxy and the migration function, which sets the role password from it on every deploy; the application authenticates with IAM tokens. Rotation by hand: put-secret-value, then invoke the migration function (README "Deploying")',
    });

    this.webhookSecret = new secretsmanager.Secret(this, 'PgWebhookSecret', {
      description: `ticketing-${config.name}: HMAC-SHA256 key of PG webhook signatures (set it to the PG's)`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: config.removalPolicy,
    });
    Validations.of(this.webhookSecret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'The PG and this secret must change together, so it is changed by hand with the PG (README "Deploying"); the webhook function re-reads it every 5 minutes',
    });

    // The gateways' secret keys: placeholders until the operator puts the real ones (README
    // "Deploying"); never environment variables, which anyone allowed to read the function's
    // configuration would see. Here, with the other state: redeploying the API never resets it.
    this.gatewaySecrets = new secretsmanager.Secret(this, 'GatewaySecrets', {
      description: `ticketing-${config.name}: payment gateway keys as JSON (${GATEWAY_SECRET_KEYS.join(', ')}); replace the placeholders`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify(
          Object.fromEntries(GATEWAY_SECRET_KEYS.map((k) => [k, 'REPLACE_ME'])),
        ),
        // CloudFormation generates one key at least; the readers ignore it, and its presence says
        // the value is still the placeholder
        generateStringKey: 'placeholder',
        excludePunctuation: true,
      },
      removalPolicy: config.removalPolicy,
    });
    Validations.of(this.gatewaySecrets).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'The gateways issue these keys: they change in the gateway\'s console and here together, by hand (README "Deploying"); functions re-read the secret every 5 minutes',
    });

    // The waiting room's HS256 key: generated, never seen by anyone. Here with the other state, so
    // that an API redeploy keeps it and with it every queue and admission token handed out.
    this.waitingRoomSecret = new secretsmanager.Secret(this, 'WaitingRoomSecret', {
      description: `ticketing-${config.name}: HS256 key of the waiting room's queue and admission tokens`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: config.removalPolicy,
    });
    Validations.of(this.waitingRoomSecret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'Changing it invalidates the queue and admission tokens in flight (fans join again and keep their positions): rotated by hand between on-sales (README "Rotating secrets"); functions re-read it every 5 minutes',
    });

    this.proxy = this.cluster.addProxy('Proxy', {
      secrets: [this.cluster.secret!, this.appSecret],
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [proxySecurityGroup],
      // unique per environment and stack (a fixed name collides with a second environment)
      dbProxyName: `${Names.uniqueResourceName(this, { maxLength: 50 })}-proxy`,
      iamAuth: true,
      requireTLS: true,
      borrowTimeout: PROXY_BORROW_TIMEOUT,
      idleClientTimeout: Duration.minutes(5),
      // leave room for the admin's own sessions and fail-over
      maxConnectionsPercent: 90,
    });
  }
}

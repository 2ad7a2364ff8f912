import { Duration, Names, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
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
  /** Functions that talk to the database run in this security group. */
  readonly databaseClients: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;

    // No NAT: functions reach AWS APIs through endpoints, and nothing else.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });
    this.databaseClients = new ec2.SecurityGroup(this, 'DatabaseClients', {
      vpc: this.vpc,
      description: 'Lambda functions that use the database',
    });
    // AWS APIs through endpoints that only the functions' security group may reach
    const endpoints = new ec2.SecurityGroup(this, 'Endpoints', {
      vpc: this.vpc,
      description: 'Interface endpoints',
      allowAllOutbound: false,
    });
    endpoints.addIngressRule(this.databaseClients, ec2.Port.tcp(443), 'functions to AWS APIs');
    for (const [name, service] of [
      ['Sqs', ec2.InterfaceVpcEndpointAwsService.SQS],
      ['Events', ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE],
      ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
    ] as const) {
      this.vpc.addInterfaceEndpoint(name, { service, securityGroups: [endpoints], open: false });
    }
    const proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc: this.vpc,
      description: 'RDS Proxy',
    });
    proxySecurityGroup.addIngressRule(this.databaseClients, ec2.Port.tcp(5432), 'functions to the proxy');

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

import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as triggers from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import { deployedRoutes } from '../functions/routes';
import { APP_DB_USER, DATABASE_NAME, type DataStack } from './data-stack';
import type { EnvironmentConfig } from './environments';
import { TicketingFunction } from './ticketing-function';

export interface ApiStackProps extends StackProps {
  config: EnvironmentConfig;
  data: DataStack;
}

const PROCESSOR_TIMEOUT = Duration.seconds(30);

/**
 * The stateless half: the HTTP API and one Lambda per route of the shared route table, the payment
 * queue and its processor, the sweeper and outbox relay on schedules, the domain event bus, the
 * deploy-time migration trigger, and the alarms.
 */
export class ApiStack extends Stack {
  readonly api: apigw.HttpApi;
  readonly functions: Record<string, TicketingFunction> = {};
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const retention = config.logRetentionDays as logs.RetentionDays;

    const baseEnvironment = {
      DB_PROXY_HOST: data.proxy.endpoint,
      DB_NAME: DATABASE_NAME,
      DB_USER: APP_DB_USER,
      ...Object.fromEntries(Object.entries(config.booking).map(([k, v]) => [k, String(v)])),
    };
    const inVpc = {
      vpc: data.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [data.databaseClients],
    };
    /** A function that uses the database: in the VPC, allowed to connect to the proxy as the app user. */
    const databaseFunction = (
      name: string,
      file: string,
      handler: string,
      extra: { environment?: Record<string, string>; timeout?: Duration } = {},
    ) => {
      const fn = new TicketingFunction(this, name, {
        file,
        handler,
        logRetentionDays: retention,
        environment: { ...baseEnvironment, ...extra.environment },
        timeout: extra.timeout,
        ...inVpc,
      });
      data.proxy.grantConnect(fn, APP_DB_USER);
      this.functions[name] = fn;
      return fn;
    };

    // ---- queue, bus -------------------------------------------------------------------------
    this.deadLetterQueue = new sqs.Queue(this, 'PaymentEventsDlq', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    this.queue = new sqs.Queue(this, 'PaymentEvents', {
      // AWS's rule for Lambda event sources: at least six times the function timeout
      visibilityTimeout: Duration.seconds(PROCESSOR_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    this.bus = new events.EventBus(this, 'DomainEvents', { eventBusName: `ticketing-${config.name}` });

    // ---- HTTP API ---------------------------------------------------------------------------
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention });
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: `ticketing-${config.name}`,
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: ['*'],
        allowMethods: [apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST, apigw.CorsHttpMethod.PATCH],
        allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
      },
    });
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: config.throttle,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.jsonWithStandardFields(),
      },
    });
    const authorizer = new HttpJwtAuthorizer('Jwt', config.jwtIssuer, { jwtAudience: config.jwtAudience });

    for (const [name, route] of deployedRoutes) {
      const usesDatabase = route.database !== false;
      const fn = usesDatabase
        ? databaseFunction(name, route.handler.file, route.handler.export)
        : new TicketingFunction(this, name, {
            file: route.handler.file,
            handler: route.handler.export,
            logRetentionDays: retention,
            environment: name === 'pgWebhook' ? { PAYMENT_QUEUE_URL: this.queue.queueUrl } : {},
          });
      this.functions[name] = fn;
      if (name === 'pgWebhook') {
        this.queue.grantSendMessages(fn);
        fn.addEnvironment('PG_WEBHOOK_SECRET', '{{resolve:ssm:/ticketing/pg-webhook-secret}}');
      }
      const secured = route.auth === 'customer' || route.auth === 'admin';
      const [httpRoute] = this.api.addRoutes({
        path: route.path,
        methods: [route.method as apigw.HttpMethod],
        integration: new HttpLambdaIntegration(`${name}Integration`, fn),
        authorizer: secured ? authorizer : undefined,
      });
      if (!secured) {
        Validations.of(httpRoute!).acknowledge({
          id: 'AwsSolutions::AwsSolutions-APIG4',
          reason:
            route.auth === 'webhook'
              ? 'PG webhooks carry no JWT: the handler verifies an HMAC-SHA256 signature over the raw body'
              : 'Public by contract (API.md): browsing the catalogue needs no account',
        });
      }
    }

    // ---- background functions ---------------------------------------------------------------
    const processor = databaseFunction('paymentProcessor', 'payment-processor', 'handler', {
      timeout: PROCESSOR_TIMEOUT,
    });
    processor.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );

    const sweeper = databaseFunction('sweeper', 'sweeper', 'handler', { timeout: Duration.seconds(60) });
    const relay = databaseFunction('outboxRelay', 'outbox-relay', 'handler', {
      timeout: Duration.seconds(60),
      environment: { EVENT_BUS_NAME: this.bus.eventBusName },
    });
    this.bus.grantPutEventsTo(relay);
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
    });
    for (const [name, fn] of [
      ['SweeperSchedule', sweeper],
      ['OutboxRelaySchedule', relay],
    ] as const) {
      new scheduler.Schedule(this, name, {
        schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
        target: new targets.LambdaInvoke(fn, { retryAttempts: 0, role: schedulerRole }),
        description: `${name} every minute`,
      });
      Validations.of(schedulerRole).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(fn.node.defaultChild as never)}.Arn>:*]`,
        reason:
          'lambda:InvokeFunction on this one function and its versions (the ":*" suffix), as the L2 grant writes it',
      });
    }

    // ---- migrations on deploy ---------------------------------------------------------------
    const migrator = new TicketingFunction(this, 'migrate', {
      file: 'migrate',
      handler: 'handler',
      logRetentionDays: retention,
      timeout: Duration.minutes(5),
      environment: {
        DB_PROXY_HOST: data.proxy.endpoint,
        DB_NAME: DATABASE_NAME,
        DB_USER: 'postgres',
        MIGRATIONS_DIR: '/var/task/migrations',
        APP_SECRET_ARN: data.appSecret.secretArn,
      },
      copyFiles: [{ from: 'db/migrations', to: 'migrations' }],
      ...inVpc,
    });
    data.proxy.grantConnect(migrator, 'postgres');
    data.appSecret.grantRead(migrator);
    new triggers.Trigger(this, 'MigrateOnDeploy', {
      handler: migrator,
      executeOnHandlerChange: true,
      executeAfter: [migrator],
      executeBefore: Object.values(this.functions),
    });

    // ---- alarms -----------------------------------------------------------------------------
    const topic = new sns.Topic(this, 'Alarms', { enforceSSL: true, masterKey: undefined });
    if (config.alarmEmail) topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    const notify = new cwActions.SnsAction(topic);
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string) =>
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      }).addAlarmAction(notify);

    alarm(
      'DlqNotEmpty',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      1,
      'A payment event failed 5 times: money may be waiting for an operator',
    );
    alarm(
      'Api5xxRate',
      new cloudwatch.MathExpression({
        expression: '100 * errors / MAX([errors, requests])',
        usingMetrics: {
          errors: stage.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
          requests: stage.metricCount({ period: Duration.minutes(5), statistic: 'Sum' }),
        },
        period: Duration.minutes(5),
      }),
      1,
      'More than 1 % of API requests failed with a 5xx',
    );
    alarm(
      'ApiLatencyP99',
      stage.metricLatency({ period: Duration.minutes(5), statistic: 'p99' }),
      1000,
      'API p99 latency above 1 s',
    );
    alarm(
      'SweeperErrors',
      sweeper.metricErrors({ period: Duration.minutes(5) }),
      1,
      'The sweeper failed: lapsed holds are not being tidied',
    );

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'PaymentDlqUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn });
  }
}

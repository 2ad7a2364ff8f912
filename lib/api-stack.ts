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
import { backgroundEntries } from '../functions/background';
import type { HandlerRef } from '../functions/handlers';
import type { Need } from '../functions/needs';
import { deployedRoutes } from '../functions/routes';
import { ADMIN_DB_USER, APP_DB_USER, DATABASE_NAME, type DataStack } from './data-stack';
import type { EnvironmentConfig } from './environments';
import { TicketingFunction, type TicketingFunctionProps } from './ticketing-function';

/**
 * Below API Gateway's 30 s integration timeout, and above the worst case of a database call
 * (connect + proxy borrow + statement timeout, lib/app.test.ts): a saturated database ends a
 * request as the service's 503 with Retry-After, not as a Lambda timeout (a 502).
 */
export const API_FUNCTION_TIMEOUT = Duration.seconds(28);

/**
 * What a deploy-time trigger waits beyond its function's timeout (cold start, the response's trip):
 * a migration that ends at its last second is still reported, not cut off by the waiting socket.
 */
const TRIGGER_INVOKE_MARGIN = Duration.seconds(30);

/** HTTP API access logs: the `$context` variables of HTTP APIs (not REST APIs'), one JSON line each. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    requestTime: '$context.requestTime',
    latencyMs: '$context.responseLatency',
    integrationLatencyMs: '$context.integrationLatency',
    integrationStatus: '$context.integrationStatus',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    responseLength: '$context.responseLength',
  }),
);

export interface ApiStackProps extends StackProps {
  config: EnvironmentConfig;
  data: DataStack;
}

/**
 * The stateless half: the HTTP API with one Lambda per route of the route table, one Lambda per
 * entry of the background table wired to its trigger (the payment queue, a schedule, the deploy),
 * the domain event bus, and the alarms. Every function gets the settings and grants of the needs
 * its table entry declares (functions/needs.ts), and nothing else.
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
    const errorAlarms: [string, TicketingFunction, string][] = [];

    // ---- queue, bus -------------------------------------------------------------------------
    // AWS's rule for Lambda event sources: visibility at least six times the consumer's timeout
    const consumerTimeout = Math.max(
      ...backgroundEntries.filter(([, f]) => f.trigger.kind === 'queue').map(([, f]) => f.timeoutSeconds),
    );
    this.deadLetterQueue = new sqs.Queue(this, 'PaymentEventsDlq', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    this.queue = new sqs.Queue(this, 'PaymentEvents', {
      visibilityTimeout: Duration.seconds(consumerTimeout * 6),
      retentionPeriod: Duration.days(4),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    this.bus = new events.EventBus(this, 'DomainEvents', { eventBusName: `ticketing-${config.name}` });

    // ---- functions: one per route and per background entry, given exactly what they declare --
    const databaseSettings = (user: string) => ({
      DB_PROXY_HOST: data.proxy.endpoint,
      DB_NAME: DATABASE_NAME,
      DB_USER: user,
    });
    /** What each need adds to a function: settings, the VPC, and the one grant it requires. */
    const provide: Record<
      Need,
      { environment: Record<string, string>; vpc?: true; grant?: (fn: TicketingFunction) => void }
    > = {
      database: {
        environment: {
          ...databaseSettings(APP_DB_USER),
          ...Object.fromEntries(Object.entries(config.booking).map(([k, v]) => [k, String(v)])),
        },
        vpc: true,
        grant: (fn) => data.proxy.grantConnect(fn, APP_DB_USER),
      },
      databaseAdmin: {
        environment: databaseSettings(ADMIN_DB_USER),
        vpc: true,
        grant: (fn) => data.proxy.grantConnect(fn, ADMIN_DB_USER),
      },
      appSecret: {
        environment: { APP_SECRET_ARN: data.appSecret.secretArn },
        grant: (fn) => data.appSecret.grantRead(fn),
      },
      paymentQueue: {
        environment: { PAYMENT_QUEUE_URL: this.queue.queueUrl },
        grant: (fn) => this.queue.grantSendMessages(fn),
      },
      eventBus: {
        environment: { EVENT_BUS_NAME: this.bus.eventBusName },
        grant: (fn) => this.bus.grantPutEventsTo(fn),
      },
      webhookSecret: {
        environment: { PG_WEBHOOK_SECRET_ARN: data.webhookSecret.secretArn },
        grant: (fn) => data.webhookSecret.grantRead(fn),
      },
      // issue 14 (AWS part): the gateway secret in Secrets Manager, and egress through NAT on 443
      gatewaySecrets: { environment: {} },
      internet: { environment: {} },
    };
    const makeFunction = (
      name: string,
      def: { handler: HandlerRef; needs: readonly Need[] },
      options: Partial<TicketingFunctionProps> = {},
    ) => {
      const provided = def.needs.map((need) => provide[need]);
      const fn = new TicketingFunction(this, name, {
        handler: def.handler,
        logRetentionDays: retention,
        environment: Object.assign({}, ...provided.map((p) => p.environment)),
        ...options,
        ...(provided.some((p) => p.vpc)
          ? {
              vpc: data.vpc,
              vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
              securityGroups: [data.databaseClients],
            }
          : {}),
      });
      for (const p of provided) p.grant?.(fn);
      this.functions[name] = fn;
      return fn;
    };

    // ---- HTTP API ---------------------------------------------------------------------------
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention });
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: `ticketing-${config.name}`,
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: ['*'],
        allowMethods: [apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST, apigw.CorsHttpMethod.PATCH],
        allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
        // headers a browser app must read: the replayed key, and when to retry a 429/503
        exposeHeaders: ['idempotency-key', 'retry-after'],
      },
    });
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: config.throttle,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });
    const authorizer = new HttpJwtAuthorizer('Jwt', config.jwtIssuer, { jwtAudience: config.jwtAudience });

    for (const [name, route] of deployedRoutes) {
      const fn = makeFunction(name, route, { timeout: API_FUNCTION_TIMEOUT });
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

    // ---- background functions, wired to their triggers --------------------------------------
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
    });
    const onDeploy: [string, TicketingFunction, Duration][] = [];
    for (const [name, def] of backgroundEntries) {
      const fn = makeFunction(name, def, {
        timeout: Duration.seconds(def.timeoutSeconds),
        copyFiles: def.files,
        reservedConcurrency: def.reservedConcurrency,
        // a scheduled run that fails or is throttled is not retried: the next tick does its work
        asyncRetries:
          def.trigger.kind === 'schedule'
            ? { retryAttempts: 0, maxEventAge: Duration.seconds(60 * def.trigger.everyMinutes) }
            : undefined,
      });
      const id = name.charAt(0).toUpperCase() + name.slice(1);
      const { trigger } = def;
      if (trigger.kind === 'queue') {
        fn.addEventSource(
          new SqsEventSource(this.queue, {
            batchSize: trigger.batchSize,
            maxBatchingWindow: Duration.seconds(trigger.maxBatchingWindowSeconds),
            reportBatchItemFailures: true,
            maxConcurrency: trigger.maxConcurrency,
          }),
        );
      } else if (trigger.kind === 'schedule') {
        new scheduler.Schedule(this, `${id}Schedule`, {
          schedule: scheduler.ScheduleExpression.rate(Duration.minutes(trigger.everyMinutes)),
          target: new targets.LambdaInvoke(fn, { retryAttempts: 0, role: schedulerRole }),
          description: def.summary,
        });
        Validations.of(schedulerRole).acknowledge({
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(fn.node.defaultChild as never)}.Arn>:*]`,
          reason:
            'lambda:InvokeFunction on this one function and its versions (the ":*" suffix), as the L2 grant writes it',
        });
      } else {
        onDeploy.push([id, fn, Duration.seconds(def.timeoutSeconds)]);
      }
      if (def.alarmOnErrors) errorAlarms.push([`${id}Errors`, fn, def.alarmOnErrors]);
    }

    // ---- on deploy (migrations), before any other function changes ---------------------------
    const others = Object.values(this.functions).filter((fn) => !onDeploy.some(([, f]) => f === fn));
    for (const [id, fn, timeout] of onDeploy) {
      new triggers.Trigger(this, `${id}OnDeploy`, {
        handler: fn,
        // the deploy waits as long as the function may run, plus its invocation's own overhead
        timeout: timeout.plus(TRIGGER_INVOKE_MARGIN),
        executeOnHandlerChange: true,
        executeAfter: [fn],
        executeBefore: others,
      });
    }

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
    for (const [id, fn, description] of errorAlarms) {
      alarm(id, fn.metricErrors({ period: Duration.minutes(5) }), 1, description);
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'PaymentDlqUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn });
  }
}

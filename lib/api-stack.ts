import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
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
import { EVENT_SOURCE } from '../functions/adapters/eventbridge-publisher';
import { backgroundEntries, type Trigger } from '../functions/background';
import type { HandlerRef } from '../functions/handlers';
import type { Need } from '../functions/needs';
import { METRICS_NAMESPACE, REFUND_FAILED_METRIC, SERVICE_NAME } from '../functions/observability';
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

type QueueName = Extract<Trigger, { kind: 'queue' }>['queue'];

/** The queues background triggers name (functions/background.ts), by their logical ids. */
const QUEUES: Record<QueueName, { id: string; retention: Duration }> = {
  payments: { id: 'PaymentEvents', retention: Duration.days(4) },
  refunds: { id: 'RefundRequests', retention: Duration.days(4) },
};

/** The detail-type the outbox gives a refund request (the refund worker's queue takes these). */
const REFUND_REQUESTED = 'refund.requested';

export interface ApiStackProps extends StackProps {
  config: EnvironmentConfig;
  data: DataStack;
}

/**
 * The stateless half: the HTTP API with one Lambda per route of the route table, one Lambda per
 * entry of the background table wired to its trigger (the payment or the refund queue, a schedule,
 * the deploy), the domain event bus and its rule feeding the refund queue, and the alarms. Every
 * function gets the settings, network and grants of the needs its table entry declares
 * (functions/needs.ts), and nothing else.
 */
export class ApiStack extends Stack {
  readonly api: apigw.HttpApi;
  readonly functions: Record<string, TicketingFunction> = {};
  /** PG payment events, from the webhook receiver to the payment processor. */
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** `refund.requested` events, from the bus to the refund worker. */
  readonly refundQueue: sqs.Queue;
  readonly refundDeadLetterQueue: sqs.Queue;
  /** Refund requests the bus could not deliver to the refund queue. */
  readonly refundRequestsUndelivered: sqs.Queue;
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const retention = config.logRetentionDays as logs.RetentionDays;
    const errorAlarms: [string, TicketingFunction, string][] = [];

    // ---- queues, bus ------------------------------------------------------------------------
    // One queue per name a background trigger uses, each with its DLQ after 5 receives
    const queueFor = (name: QueueName) => {
      const consumers = backgroundEntries.filter(
        ([, f]) => f.trigger.kind === 'queue' && f.trigger.queue === name,
      );
      if (!consumers.length) throw new Error(`No background function reads the ${name} queue`);
      const { id, retention } = QUEUES[name];
      const deadLetterQueue = new sqs.Queue(this, `${id}Dlq`, {
        retentionPeriod: Duration.days(14),
        enforceSSL: true,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
      });
      const queue = new sqs.Queue(this, id, {
        // AWS's rule for Lambda event sources: visibility at least six times the consumer's timeout
        visibilityTimeout: Duration.seconds(6 * Math.max(...consumers.map(([, f]) => f.timeoutSeconds))),
        retentionPeriod: retention,
        enforceSSL: true,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 },
      });
      return { queue, deadLetterQueue };
    };
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = queueFor('payments'));
    ({ queue: this.refundQueue, deadLetterQueue: this.refundDeadLetterQueue } = queueFor('refunds'));
    const queues: Record<QueueName, sqs.Queue> = { payments: this.queue, refunds: this.refundQueue };
    this.bus = new events.EventBus(this, 'DomainEvents', { eventBusName: `ticketing-${config.name}` });

    // Refund requests come from the outbox through the bus. An event the queue does not take is
    // retried for up to a day (what EventBridge deems permanent, a missing queue or permission,
    // is not retried), then kept in a DLQ of its own: a refund request is money owed, never dropped.
    this.refundRequestsUndelivered = new sqs.Queue(this, 'RefundRequestsUndelivered', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    Validations.of(this.refundRequestsUndelivered).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason:
        "It is a DLQ: the bus rule target's (EventBridge's own DeadLetterConfig, which the check does not look at, only SQS redrive policies)",
    });
    new events.Rule(this, 'RefundRequestedToQueue', {
      eventBus: this.bus,
      description: `${REFUND_REQUESTED} events from the outbox to the refund worker's queue`,
      eventPattern: { source: [EVENT_SOURCE], detailType: [REFUND_REQUESTED] },
      targets: [
        new eventTargets.SqsQueue(this.refundQueue, {
          deadLetterQueue: this.refundRequestsUndelivered,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    // ---- functions: one per route and per background entry, given exactly what they declare --
    const databaseSettings = (user: string) => ({
      DB_PROXY_HOST: data.proxy.endpoint,
      DB_NAME: DATABASE_NAME,
      DB_USER: user,
    });
    /**
     * What each need adds to a function: settings, a place in the VPC, and the one grant it
     * requires. `isolated`: the isolated subnets (AWS APIs through endpoints, nothing else);
     * `egress`: the subnets with a NAT, HTTPS out only (the gateway callers' security group).
     */
    const provide: Record<
      Need,
      {
        environment: Record<string, string>;
        network?: 'isolated' | 'egress';
        grant?: (fn: TicketingFunction) => void;
      }
    > = {
      database: {
        environment: {
          ...databaseSettings(APP_DB_USER),
          ...Object.fromEntries(Object.entries(config.booking).map(([k, v]) => [k, String(v)])),
        },
        network: 'isolated',
        grant: (fn) => data.proxy.grantConnect(fn, APP_DB_USER),
      },
      databaseAdmin: {
        environment: databaseSettings(ADMIN_DB_USER),
        network: 'isolated',
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
      gatewaySettings: { environment: { ...config.gateways } },
      gatewaySecrets: {
        environment: { GATEWAY_SECRETS_ARN: data.gatewaySecrets.secretArn },
        grant: (fn) => data.gatewaySecrets.grantRead(fn),
      },
      waitingRoomSecret: {
        environment: { WAITING_ROOM_SECRET_ARN: data.waitingRoomSecret.secretArn },
        grant: (fn) => data.waitingRoomSecret.grantRead(fn),
      },
      internet: { environment: {}, network: 'egress' },
    };
    const placement = {
      isolated: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED, securityGroup: data.databaseClients },
      egress: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, securityGroup: data.gatewayClients },
    };
    const makeFunction = (
      name: string,
      def: { handler: HandlerRef; needs: readonly Need[] },
      options: Partial<TicketingFunctionProps> = {},
    ) => {
      const provided = def.needs.map((need) => provide[need]);
      const networks = provided.map((p) => p.network);
      // egress wins: its security group reaches the proxy and the endpoints as well
      const network = networks.includes('egress')
        ? 'egress'
        : networks.includes('isolated')
          ? 'isolated'
          : undefined;
      const fn = new TicketingFunction(this, name, {
        handler: def.handler,
        logRetentionDays: retention,
        environment: Object.assign({}, ...provided.map((p) => p.environment)),
        ...options,
        ...(network
          ? {
              vpc: data.vpc,
              vpcSubnets: { subnetType: placement[network].subnetType },
              securityGroups: [placement[network].securityGroup],
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
        allowMethods: [
          apigw.CorsHttpMethod.GET,
          apigw.CorsHttpMethod.POST,
          apigw.CorsHttpMethod.PATCH,
          apigw.CorsHttpMethod.DELETE,
        ],
        allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'queue-token', 'admission-token'],
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
          new SqsEventSource(queues[trigger.queue], {
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
      'RefundDlqNotEmpty',
      this.refundDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      1,
      'A refund request failed 5 times: money owed to a customer is waiting for an operator',
    );
    alarm(
      'RefundRequestsUndeliveredNotEmpty',
      this.refundRequestsUndelivered.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
      }),
      1,
      'The bus could not deliver a refund request to the refund queue: money owed to a customer',
    );
    alarm(
      'RefundFailed',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: REFUND_FAILED_METRIC,
        dimensionsMap: { service: SERVICE_NAME },
        statistic: 'Sum',
        period: Duration.minutes(1),
      }),
      1,
      'A refund failed for good: money owed to a customer (reconciliation report, refundStatus failed)',
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
    new CfnOutput(this, 'RefundDlqUrl', { value: this.refundDeadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn });
  }
}

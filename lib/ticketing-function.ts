import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { HandlerRef } from '../functions/handlers';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** esbuild settings of every function; `npm run bench` bundles with the same ones. */
export const BUNDLE = {
  target: 'node24',
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/client-sqs', '@aws-sdk/client-eventbridge', '@aws-sdk/client-secrets-manager'],
  // ESM bundles of CommonJS dependencies still call require()
  banner: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);",
};

/** The esbuild entry of a handler: its module's source file. */
export const entryOf = (handler: HandlerRef) => join(PROJECT_ROOT, 'functions', `${handler.file}.ts`);

export interface TicketingFunctionProps {
  /** The module under functions/ (the esbuild entry) and its exported handler. */
  handler: HandlerRef;
  environment: Record<string, string>;
  logRetentionDays: logs.RetentionDays;
  timeout?: Duration;
  memorySize?: number;
  /** Files copied next to the bundle (the migration function ships the .sql files). */
  copyFiles?: readonly { from: string; to: string }[];
  vpc?: nodejs.NodejsFunctionProps['vpc'];
  vpcSubnets?: nodejs.NodejsFunctionProps['vpcSubnets'];
  securityGroups?: nodejs.NodejsFunctionProps['securityGroups'];
}

/**
 * The one way this project makes a Lambda function: Node.js 24 (the latest Lambda runtime) on arm64, an ESM bundle made by
 * esbuild (minified, with source maps), structured logs in a log group with a retention.
 *
 * AWS SDK v3 clients are left out of the bundle: the Node.js runtime ships them, which keeps
 * bundles small and cold starts short. The price is that the runtime's SDK version is used; the
 * calls made here (SendMessage, PutEvents) are stable. `@aws-sdk/rds-signer` is not part of the
 * runtime, so it is bundled.
 */
export class TicketingFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: TicketingFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: props.logRetentionDays });
    // Its own role, allowed to write to its own log group only (not the managed policy's logs:*)
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    logGroup.grant(role, 'logs:CreateLogStream', 'logs:PutLogEvents');
    super(scope, id, {
      role,
      entry: entryOf(props.handler),
      handler: props.handler.export,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'ticketing',
        ...props.environment,
      },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: BUNDLE.target,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: BUNDLE.mainFields,
        externalModules: BUNDLE.external,
        banner: BUNDLE.banner,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) =>
            (props.copyFiles ?? []).map(
              (f) => `cp -r "${join(PROJECT_ROOT, f.from)}" "${join(output, f.to)}"`,
            ),
        },
      },
    });
    if (props.vpc) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason:
          'Lambda needs ec2:*NetworkInterface* to attach to the VPC; those actions take no resource scope, and this AWS policy grants nothing else',
      });
    }
  }
}

import { cpSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { buildSync } from 'esbuild';
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
  /** Concurrency set aside for this function (and the most it may use). */
  reservedConcurrency?: number;
  /** Asynchronous invocations (schedules): retries and the age after which an event is dropped. */
  asyncRetries?: { retryAttempts: number; maxEventAge: Duration };
  /** Files copied next to the bundle (the migration function ships the .sql files). */
  copyFiles?: readonly { from: string; to: string }[];
  vpc?: lambda.FunctionProps['vpc'];
  vpcSubnets?: lambda.FunctionProps['vpcSubnets'];
  securityGroups?: lambda.FunctionProps['securityGroups'];
}

/**
 * The bundle of one handler module: `index.mjs` (+ source map) and the files it ships. esbuild
 * runs in this process (no `npx esbuild` per function), and CDK's asset cache makes one asset per
 * module and files, which every function of that module shares (`index.<export>` picks the handler).
 */
export function bundledCode(handler: HandlerRef, copyFiles: readonly { from: string; to: string }[]) {
  const local = {
    // data here is part of CDK's cache key: one bundle per module and files, not per function
    module: handler.file,
    copyFiles,
    tryBundle(outputDir: string) {
      bundleInto(outputDir, handler, copyFiles);
      return true;
    },
  };
  return lambda.Code.fromAsset(join(PROJECT_ROOT, 'functions'), {
    assetHashType: AssetHashType.OUTPUT,
    // never used: the local bundling above always succeeds (esbuild is a dependency of the CDK app)
    bundling: { image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'), local },
  });
}

/** esbuild with the settings of every function; `npm run bench` measures the same bundles. */
export function bundleInto(
  outputDir: string,
  handler: HandlerRef,
  copyFiles: readonly { from: string; to: string }[] = [],
) {
  buildSync({
    entryPoints: [entryOf(handler)],
    outfile: join(outputDir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE.target,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: BUNDLE.mainFields,
    external: BUNDLE.external,
    banner: { js: BUNDLE.banner },
    logLevel: 'error',
  });
  for (const f of copyFiles) cpSync(join(PROJECT_ROOT, f.from), join(outputDir, f.to), { recursive: true });
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
export class TicketingFunction extends lambda.Function {
  constructor(scope: Construct, id: string, props: TicketingFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: props.logRetentionDays });
    // Its own role, allowed to write to its own log group only (not the managed policy's logs:*)
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    logGroup.grant(role, 'logs:CreateLogStream', 'logs:PutLogEvents');
    super(scope, id, {
      role,
      code: bundledCode(props.handler, props.copyFiles ?? []),
      handler: `index.${props.handler.export}`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      reservedConcurrentExecutions: props.reservedConcurrency,
      ...props.asyncRetries,
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
    });
    if (props.vpc) {
      // A role made here does not get what Lambda needs to attach the function to the VPC. Not the
      // AWS-managed AWSLambdaVPCAccessExecutionRole: it also grants logs:* writes on every log group.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
      Validations.of(role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          'Lambda attaches the function to the VPC with these ec2 network-interface actions, which take no resource scope',
      });
    }
  }
}

import { join } from 'node:path';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { getSql } from '../db/client';
import { ensureAppRole, migrate } from '../db/migrate';
import { logger } from './observability';

/**
 * Run by the CDK trigger on every deploy, after the database exists and before the API functions
 * change: applies the migrations (copied next to the bundle) as the admin
 * user, then makes sure the application's role exists with exactly the privileges it needs.
 */
export const handler = middy()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const sql = getSql();
    // the files sit next to the bundle (functions/background.ts copies them), in the task root
    const result = await migrate(sql, join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'migrations'));
    logger.info('migrations applied', { ...result });
    const secretArn = process.env.APP_SECRET_ARN;
    if (secretArn) {
      const secret = await new SecretsManagerClient({}).send(
        new GetSecretValueCommand({ SecretId: secretArn }),
      );
      const { username, password } = JSON.parse(secret.SecretString ?? '{}') as {
        username: string;
        password: string;
      };
      await ensureAppRole(sql, username, password);
      logger.info('application role ready', { username });
    }
    return result;
  });

import { join } from 'node:path';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { getSql } from '../db/client';
import { migrate } from '../db/migrate';
import { logger } from './observability';

/**
 * Run by the CDK trigger on every deploy, after the database exists and before the API functions
 * change. The .sql files are copied next to the bundle (see lib/ticketing-function.ts).
 */
export const handler = middy()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const result = await migrate(getSql(), process.env.MIGRATIONS_DIR ?? join(process.cwd(), 'migrations'));
    logger.info('migrations applied', { ...result });
    return result;
  });

import { openApiDocument } from '../openapi';
import { routes } from '../routes';
import { httpHandler } from './middleware';

export const health = httpHandler(routes.health, async ({ db }) => {
  await db`select 1`;
  return { status: 'ok' };
});

export const openapi = httpHandler(routes.openapi, async () => openApiDocument());

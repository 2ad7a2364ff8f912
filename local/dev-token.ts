import { httpHandler } from '../functions/http/middleware';
import { routes } from '../functions/routes';
import { issueToken } from './jwt';

/** POST /dev/token — local only: the route table marks it `local`, so CDK never deploys it. */
export const handler = httpHandler(routes.devToken, async ({ body }) => ({ token: await issueToken(body) }));

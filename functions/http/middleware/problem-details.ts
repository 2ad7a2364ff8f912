import type { MiddlewareObj } from '@middy/core';
import { isDataException, isTransient } from '../../../db/errors';
import { AppError } from '../../../domain/errors';
import { logger } from '../../observability';
import type { HttpContext, HttpEvent, HttpResult } from '../middleware';
import { problem } from '../responses';

/**
 * The one place errors become RFC 9457 problem details, as middy's http-error-handler does at the
 * end of a chain: a known error with a status below 500 is the client's to read; a database that
 * is busy or restarting is a 503 with Retry-After; anything else is a 500 that names only the
 * request id. Internals never reach the client.
 *
 * Not @middy/http-error-handler itself: it answers with the bare message as text/plain or JSON.
 */
export function problemDetails(): MiddlewareObj<HttpEvent, HttpResult, Error, HttpContext> {
  return {
    onError: (request) => {
      const instance = request.event.rawPath;
      const known = toAppError(request.error);
      if (known && known.status < 500) {
        request.response = problem(known, { instance });
        return;
      }
      if (known) {
        logger.warn('request could not be served', { error: request.error as Error });
        request.response = problem(known, { instance, headers: { 'retry-after': '1' } });
        return;
      }
      logger.error('unexpected error', { error: request.error as Error });
      request.response = problem(
        new AppError(
          'INTERNAL_ERROR',
          `Something went wrong on our side (request ${request.context.awsRequestId})`,
        ),
        { instance },
      );
    },
  };
}

/** Domain errors as they are; database failures that say something about the request, mapped. */
function toAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error;
  if (isDataException(error)) {
    return new AppError(
      'VALIDATION_FAILED',
      'A value in the request cannot be stored (for example a NUL character)',
    );
  }
  if (isTransient(error)) {
    return new AppError('SERVICE_UNAVAILABLE', 'The service is busy or restarting; retry shortly');
  }
  return undefined;
}

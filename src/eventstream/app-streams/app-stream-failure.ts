import { HttpException } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { type HttpFailure, httpFailure } from '../http/error-response';

const CONDITIONS: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  503: 'unavailable',
};

/**
 * The status and `stream-error` condition of a failure on an app stream:
 * Nest's `HttpException`s that app code throws keep their status and
 * message; the library's own errors map as on the events endpoint.
 */
export function appStreamFailure(error: unknown): HttpFailure {
  if (!(error instanceof HttpException)) return httpFailure(error);
  const status = error.getStatus();
  const condition =
    CONDITIONS[status] ??
    (status >= 500
      ? 'internal-error'
      : (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '-'));
  return { status, condition, message: messageOfHttpException(error) };
}

function messageOfHttpException(error: HttpException): string {
  const body = error.getResponse();
  const message =
    typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : body;
  if (Array.isArray(message)) return message.map(String).join('; ');
  return typeof message === 'string' ? message : error.message;
}

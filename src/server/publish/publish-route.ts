import { HttpException, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventStreamError, type EventStreamService } from '../../eventstream';
import { readJsonBody } from '../json-body/read-json-body';
import { writeJson } from '../json-body/write-json';
import { type ErrorAnswer, eventStreamErrorAnswer } from './eventstream-error.filter';
import { idempotencyKeyOf } from './idempotency-key-header';
import { eventsOf } from './publish-body';
import { publishKeyCheck } from './publish-key';

const logger = new Logger('ExceptionsHandler');

/** `POST /publish`, also with a trailing slash or in other cases, as Express routes it. */
export function isPublishRequest(request: IncomingMessage): boolean {
  if (request.method !== 'POST') return false;
  const url = request.url ?? '';
  const end = url.indexOf('?');
  const path = (end === -1 ? url : url.slice(0, end)).toLowerCase();
  return path === '/publish' || path === '/publish/';
}

/**
 * `POST /publish`: lets apps that are not Nest send events over HTTP, like
 * tornado-sse's standalone server. Answers 201 once the events are stored.
 * With an `Idempotency-Key` header, a retry with the same body answers the
 * same 201 and ids and stores nothing (the library's idempotency keys).
 *
 * A plain `node:http` handler, served ahead of Nest (see `serveAhead`): the
 * route's whole work is a key check, a body and a send, and Nest's
 * per-request pipeline (router, guard, filters, Express' `res.json`) cost
 * more than all of it but the database (docs/benchmarks.md).
 */
export function createPublishRoute(
  events: EventStreamService,
  publishKey: string,
): (request: IncomingMessage, response: ServerResponse) => void {
  const checkKey = publishKeyCheck(publishKey);
  const publish = async (request: IncomingMessage): Promise<string[]> => {
    // In this order: a request without the key, or with a malformed
    // Idempotency-Key, is answered before a byte of its body is read.
    checkKey(request);
    const idempotencyKey = idempotencyKeyOf(request);
    const body = await readJsonBody(request);
    const records = await events.sendEvents(eventsOf(body), { idempotencyKey });
    return records.map((record) => record.id);
  };
  return (request, response) => {
    publish(request).then(
      (ids) => writeJson(response, 201, { ids }),
      (error: unknown) => {
        const { status, body } = errorAnswer(error);
        writeJson(response, status, body);
      },
    );
  };
}

/** As Nest's exception filters would answer: 4xx quietly, an unexpected error logged. */
function errorAnswer(error: unknown): ErrorAnswer | { status: number; body: object } {
  if (error instanceof EventStreamError) return eventStreamErrorAnswer(error);
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const body = error.getResponse();
    return {
      status,
      body: typeof body === 'object' ? body : { statusCode: status, message: body },
    };
  }
  logger.error(
    error instanceof Error ? error.message : String(error),
    error instanceof Error ? error.stack : undefined,
  );
  return { status: 500, body: { statusCode: 500, message: 'Internal server error' } };
}

import { BadRequestException, HttpException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { nestedDeeperThan } from './json-depth';
import { strictJsonProblems } from './strict-json';
import { MAX_BODY_BYTES, MAX_BODY_DEPTH } from './body-limits';
import { discardUnreadBody } from './unread-body';

const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;
const CHARSET = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i;

/**
 * Reads a request's JSON body itself, so that a route reads it only once its
 * guards have let the request through, and refuses what `JSON.parse` would
 * not keep as sent (see `strictJsonProblems`). Every refusal is an
 * HttpException with a 4xx status: a client's mistake, not the server's.
 */
export async function readJsonBody(
  request: IncomingMessage,
  maxBytes: number = MAX_BODY_BYTES,
): Promise<unknown> {
  try {
    const text = decode(await readBytes(request, maxBytes));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new BadRequestException([`the body is not valid JSON: ${(error as Error).message}`]);
    }
    if (nestedDeeperThan(body, MAX_BODY_DEPTH)) {
      throw new BadRequestException([`the body is nested more than ${MAX_BODY_DEPTH} levels deep`]);
    }
    // Only now: the scan expects valid JSON and recurses once per level.
    const problems = strictJsonProblems(text);
    if (problems.length > 0) throw new BadRequestException(problems);
    return body;
  } catch (error) {
    discardUnreadBody(request);
    throw error;
  }
}

async function readBytes(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const contentType = request.headers['content-type'] ?? '';
  if (!JSON_MEDIA_TYPE.test(contentType)) {
    throw new UnsupportedMediaTypeException('Content-Type must be application/json');
  }
  const charset = CHARSET.exec(contentType);
  // JSON is UTF-8 (RFC 8259, section 8.1); a body that says otherwise would be misread.
  if (charset && (charset[1] ?? charset[2]).toLowerCase() !== 'utf-8') {
    throw new UnsupportedMediaTypeException('The charset must be utf-8');
  }
  const encoding = request.headers['content-encoding'] ?? 'identity';
  if (encoding.toLowerCase() !== 'identity') {
    throw new UnsupportedMediaTypeException('Content-Encoding is not supported');
  }
  try {
    return await getRawBody(request, {
      limit: maxBytes,
      length: request.headers['content-length'],
    });
  } catch (error) {
    // raw-body's errors (too large, aborted, a length that does not match)
    // carry their status; answered as before, with its message.
    const { status, message } = error as { status?: number; message: string };
    if (status !== undefined && status >= 400 && status < 500) {
      throw new HttpException({ statusCode: status, message }, status);
    }
    throw error;
  }
}

/** One for every request: a decode that is not streamed starts afresh, after an error too. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BadRequestException(['the body is not valid UTF-8']);
  }
}

import { BadRequestException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { discardUnreadBody } from '../json-body/unread-body';

/** The request header that makes a publish safe to retry (IETF httpapi idempotency-key draft). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

// A Structured Field string: printable ASCII between quotes, with `\"` and `\\` escaped.
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;

/** What is wrong with the header, as a 400 reports it. */
export function idempotencyKeyProblem(reason: string): string {
  return `Invalid ${IDEMPOTENCY_KEY_HEADER} header: ${reason}`;
}

/**
 * The request's idempotency key, or `undefined` without the header. The
 * draft's form is a Structured Field string (`Idempotency-Key: "8e03978e…"`);
 * a bare value (`Idempotency-Key: 8e03978e…`), as many clients send, is taken
 * as it is. What a key may hold is the library's rule, checked as it sends.
 * Checked before the body is read: a bad header gets its 400 at once.
 */
export function idempotencyKeyOf(request: IncomingMessage): string | undefined {
  const name = IDEMPOTENCY_KEY_HEADER.toLowerCase();
  const { rawHeaders } = request;
  // Node joins repeated headers with ", ": only the raw list tells them apart.
  const values = rawHeaders.filter(
    (_, i) => i % 2 === 1 && rawHeaders[i - 1].toLowerCase() === name,
  );
  if (values.length === 0) return undefined;
  if (values.length > 1) throw refused(request, 'give it once');
  const value = values[0].trim();
  if (!value.startsWith('"')) return value;
  const match = SF_STRING.exec(value);
  if (!match) {
    throw refused(
      request,
      'a quoted key must be printable ASCII in double quotes, with \\" and \\\\ escaped',
    );
  }
  return match[1].replace(/\\(["\\])/g, '$1');
}

function refused(request: IncomingMessage, reason: string): BadRequestException {
  discardUnreadBody(request);
  return new BadRequestException([idempotencyKeyProblem(reason)]);
}

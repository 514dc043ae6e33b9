import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

/**
 * Where the build puts the browser client: `dist/client`, three levels above
 * this file both in `dist/eventstream/http` (the package) and in
 * `src/eventstream/http` (the repository, after a build).
 */
const CLIENT_DIR = join(__dirname, '..', '..', '..', 'dist', 'client');

const FILE_NAME = /^[a-z][a-z.-]*\.js$/;

interface ScriptFile {
  readonly body: Buffer;
  readonly etag: string;
}

let files: Map<string, ScriptFile> | undefined;

function clientFiles(): Map<string, ScriptFile> {
  if (files) return files;
  files = new Map();
  let names: string[] = [];
  try {
    names = readdirSync(CLIENT_DIR).filter((name) => FILE_NAME.test(name));
  } catch {
    // Not built: every file is a 404.
  }
  for (const name of names) {
    const body = readFileSync(join(CLIENT_DIR, name));
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 27);
    files.set(name, { body, etag: `"${hash}"` });
  }
  return files;
}

/**
 * Serves the browser client's ES modules (`<path>/client/index.js` and the
 * files it imports) for pages without a bundler. The URL has no version, so
 * caches keep a copy for 10 minutes and then revalidate it by its ETag.
 * Anyone may load it, from any origin: it is the package's public code.
 */
export function serveClientScript(
  request: IncomingMessage,
  response: ServerResponse,
  name: string,
): void {
  const file = FILE_NAME.test(name) ? clientFiles().get(name) : undefined;
  response.setHeader('Access-Control-Allow-Origin', '*');
  if (!file) {
    const body = JSON.stringify({
      statusCode: 404,
      error: 'not-found',
      message: `No client file "${name}": import index.js`,
    });
    response.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' }).end(body);
    return;
  }
  const headers = {
    'Cache-Control': 'public, max-age=600',
    ETag: file.etag,
    'X-Content-Type-Options': 'nosniff',
  };
  if (request.headers['if-none-match'] === file.etag) {
    response.writeHead(304, headers).end();
    return;
  }
  response.writeHead(200, {
    ...headers,
    'Content-Type': 'text/javascript; charset=utf-8',
    'Content-Length': file.body.length,
  });
  response.end(request.method === 'HEAD' ? undefined : file.body);
}

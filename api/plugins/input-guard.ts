import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { AppError } from '../../lib/errors.js';
import { addRouteHook } from './route-hooks.js';

/**
 * How deep a JSON body may nest. Our deepest schema is a few levels; free-form JSON (custom
 * fields, settings) is capped here too, because zod's `z.json()` and `JSON.stringify` recurse
 * and overflow the stack somewhere past a few thousand levels: a 100,000-deep array was a 500.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of `[`/`{` in JSON text, stopping as soon as it passes `limit`. Strings are
 * skipped so brackets inside them don't count. One pass over bytes already in memory, before
 * `JSON.parse` builds anything: far cheaper than walking the parsed value.
 */
export function jsonDepthExceeds(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

/**
 * Where the first NUL character (U+0000) sits in `value`, as a path under `root` (`body.subject`,
 * `query.q`, `body.tags.2`), or null. Keys are checked too: they end up as jsonb keys. Iterative,
 * so no input can overflow the stack here.
 */
export function findNul(value: unknown, root: string): string | null {
  const stack: Array<[unknown, string]> = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop() as [unknown, string];
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}.${i}`]);
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i] as string;
        const at = `${path}.${k.replaceAll('\u0000', '\\u0000')}`;
        if (k.includes('\u0000')) return at;
        stack.push([(v as Record<string, unknown>)[k], at]);
      }
    }
  }
  return null;
}

export const nulRefused = (path: string) =>
  new AppError('invalid_character', `${path}: the NUL character (U+0000) is not allowed in text`, {
    details: [{ path, message: 'contains the NUL character (U+0000)' }],
  });

/**
 * Input every route gets for free, so none can forget it:
 * - JSON bodies nested deeper than `MAX_JSON_DEPTH` are a 400 before they are parsed;
 * - a NUL character anywhere in the path parameters, query string or body is a 400 naming the
 *   field (PostgreSQL refuses NUL in text and jsonb, so it used to surface as a 500 from
 *   whichever query met it first). Checked in preValidation, after the access check, so a caller
 *   without access still learns nothing about the route.
 * Register after `registerAuth` (hooks run in the order plugins add them) and before any route.
 */
export function registerInputGuard(app: FastifyInstance) {
  // Fastify's own parser (secure-json-parse: refuses __proto__ and constructor.prototype), with
  // the depth check in front of it.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    // parseAs: 'string' always hands over a string; the type allows a Buffer.
    const text = String(body);
    if (jsonDepthExceeds(text)) {
      done(
        new AppError('bad_request', `the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`, {
          details: [{ path: 'body', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
        }),
        undefined,
      );
      return;
    }
    parseJson(req, text, done);
  });

  addRouteHook(
    app,
    'preValidation',
    () => true,
    (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const at = findNul(req.params, 'params') ?? findNul(req.query, 'query') ?? findNul(req.body, 'body');
      done(at ? nulRefused(at) : undefined);
    },
  );
}

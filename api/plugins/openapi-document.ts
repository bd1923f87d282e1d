/**
 * The finishing pass over the generated OpenAPI document (fastify-swagger's `transformObject`):
 * shared error answers, a description for every answer, and no schema nothing points at.
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const ERROR_REF = '#/components/schemas/Error';

/** Each error status this API answers, by the name the generated clients see, with what it means. */
const ERRORS: Record<string, { name: string; description: string; retryAfter?: true }> = {
  400: {
    name: 'BadRequest',
    description: 'Malformed request: broken JSON, or a body where the route takes none',
  },
  401: {
    name: 'Unauthorized',
    description: 'Not signed in, or the session or API token is unknown, expired or revoked',
  },
  403: {
    name: 'Forbidden',
    description:
      'Not allowed: the role or the token scopes lack the permission, or the x-csrf-token header is missing',
  },
  404: { name: 'NotFound', description: "Not found (another organization's ids answer the same)" },
  409: {
    name: 'Conflict',
    description:
      'Conflicts with the current state (a duplicate, or the same Idempotency-Key still running); ' +
      '`details.retryable: true` means a concurrent update got in the way: send the same request again',
  },
  412: {
    name: 'PreconditionFailed',
    description:
      'The If-Match header names a version the resource has moved past (someone changed it since ' +
      'you read it): nothing was changed. Read it again (its ETag is the current version) and decide',
  },
  413: { name: 'PayloadTooLarge', description: 'The body is too large' },
  415: { name: 'UnsupportedMediaType', description: 'The content type is not accepted' },
  422: {
    name: 'ValidationFailed',
    description: 'Validation failed: `details` lists each field by path with what is wrong',
  },
  429: {
    name: 'RateLimited',
    description: 'Rate limited: retry after Retry-After seconds',
    retryAfter: true,
  },
  500: {
    name: 'InternalError',
    description: 'Internal error: the message carries the request id for support',
  },
  501: {
    name: 'NotConfigured',
    description: 'Not configured on this server (the details name the settings)',
  },
  503: {
    name: 'Unavailable',
    description: 'A dependency (Postgres or Redis) is unavailable: retry after Retry-After seconds',
    retryAfter: true,
  },
};

const SUCCESS_DESCRIPTIONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: the work happens in the background',
  204: 'No content',
  302: 'Redirect (follow the Location header)',
};

function sharedErrorResponses(used: ReadonlySet<string>): Json {
  return Object.fromEntries(
    Object.values(ERRORS)
      .filter(({ name }) => used.has(name))
      .map(({ name, description, retryAfter }) => [
        name,
        {
          description,
          ...(retryAfter && {
            headers: {
              'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
            },
          }),
          content: { 'application/json': { schema: { $ref: ERROR_REF } } },
        },
      ]),
  );
}

/** An answer whose body is exactly the Error schema, the only kind the shared responses stand for. */
function isPlainError(answer: Json): boolean {
  const content = answer.content;
  if (!isObject(content) || Object.keys(content).join() !== 'application/json') return false;
  const media = content['application/json'];
  return isObject(media) && isObject(media.schema) && media.schema.$ref === ERROR_REF;
}

function* operations(doc: Json): Generator<Json> {
  for (const item of Object.values((doc.paths ?? {}) as Record<string, unknown>)) {
    if (!isObject(item)) continue;
    for (const operation of Object.values(item)) if (isObject(operation)) yield operation;
  }
}

/**
 * Points each error answer at its shared response (one definition instead of one per operation,
 * which also keeps generated clients small) and describes every other answer by its status
 * instead of fastify-swagger's "Default Response".
 */
function shareAndDescribeResponses(doc: Json) {
  const used = new Set<string>();
  for (const operation of operations(doc)) {
    if (!isObject(operation.responses)) continue;
    for (const [status, answer] of Object.entries(operation.responses)) {
      if (!isObject(answer)) continue;
      const error = ERRORS[status];
      if (error && isPlainError(answer)) {
        operation.responses[status] = { $ref: `#/components/responses/${error.name}` };
        used.add(error.name);
      } else if (answer.description === 'Default Response') {
        answer.description = error?.description ?? SUCCESS_DESCRIPTIONS[status] ?? answer.description;
      }
    }
  }
  const components = (doc.components ?? {}) as Json;
  components.responses = { ...(components.responses as Json | undefined), ...sharedErrorResponses(used) };
  doc.components = components;
}

/** The reads that hand out a version to send back as If-Match (the changes that take it say so). */
const VERSIONED_READS = new Set(['getTicket']);

const ETAG_HEADER = {
  description:
    'The version of the ticket in the answer (weak: W/"..."). Send it back as If-Match to make ' +
    'a change conditional on nobody having changed the ticket since. It moves when a field of the ' +
    'ticket people read and edit changes (subject, status, priority, category, team, assignee, ' +
    "tags, custom fields, rating, a new message), not with the system's own bookkeeping (SLA due " +
    'times, Discord thread ids, updatedAt alone)',
  schema: { type: 'string' },
};

/**
 * Names the ETag header on the success answers of the operations that hand out a version: the
 * reads listed above and every operation that takes If-Match (its answer carries the new one).
 */
function describeEtags(doc: Json) {
  for (const operation of operations(doc)) {
    const params = Array.isArray(operation.parameters) ? operation.parameters : [];
    const conditional = params.some((p) => isObject(p) && p.in === 'header' && p.name === 'if-match');
    if (!conditional && !VERSIONED_READS.has(String(operation.operationId))) continue;
    if (!isObject(operation.responses)) continue;
    for (const [status, answer] of Object.entries(operation.responses)) {
      if (!status.startsWith('2') || !isObject(answer)) continue;
      answer.headers = { ...(isObject(answer.headers) ? answer.headers : {}), ETag: ETAG_HEADER };
    }
  }
}

/** Names of the schema components a part of the document points at. */
function schemaRefsIn(node: unknown, found: Set<string>) {
  if (Array.isArray(node)) for (const item of node) schemaRefsIn(item, found);
  else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
        found.add(value.slice('#/components/schemas/'.length));
      } else schemaRefsIn(value, found);
    }
  }
}

/**
 * Every registered zod schema comes out twice (its input and its output side); keep the ones an
 * operation reaches, so the document and the generated clients carry no dead types.
 */
function keepReachableSchemas(doc: Json) {
  const components = (doc.components ?? {}) as Json;
  const schemas = (components.schemas ?? {}) as Json;
  const reached = new Set<string>();
  schemaRefsIn([doc.paths, components.responses], reached);
  const queue = [...reached];
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    const more = new Set<string>();
    schemaRefsIn(schemas[name], more);
    for (const next of more) {
      if (reached.has(next)) continue;
      reached.add(next);
      queue.push(next);
    }
  }
  components.schemas = Object.fromEntries(Object.entries(schemas).filter(([name]) => reached.has(name)));
}

/** Finishes the document fastify-swagger and the zod transform built. */
export function finishDocument<T>(doc: T): T {
  shareAndDescribeResponses(doc as Json);
  describeEtags(doc as Json);
  keepReachableSchemas(doc as Json);
  return doc;
}

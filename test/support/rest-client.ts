import type { TSchema } from '@sinclair/typebox';
import { expect } from 'vitest';
import { openApiDocument, openApiText } from '../../src/rest/openapi.js';
import { ErrorBody } from '../../src/rest/schemas.js';
import { check } from '../../src/rest/validate.js';
import { TEST_TOKEN } from './service.js';

export interface RestResponse {
  status: number;
  headers: Headers;
  body: any;
}

export interface RequestOptions {
  /** JSON-encoded (with Content-Type: application/json) unless `raw` is given; `raw` is sent without a content type. */
  body?: unknown;
  raw?: string | Uint8Array;
  /** null = send no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
}

type OpenApi = any;

/** `/runs/{run_id}/cancel` → a regex matching concrete paths. */
function templateRegex(template: string): RegExp {
  return new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
}

/**
 * Talks to the REST API over real HTTP and checks every answer against the served OpenAPI
 * document: the status must be documented for that operation and the body must match its schema.
 * Errors (documented or not, e.g. the router's 404) must match the Error schema.
 *
 * The served document is first checked to be exactly the serialisation of the TypeBox-built one;
 * the bodies are then validated with that one's schemas (TypeBox validates its own schemas).
 */
export class RestClient {
  private readonly local: ReturnType<typeof openApiDocument>;

  constructor(
    readonly baseUrl: string,
    readonly doc: OpenApi,
  ) {
    const limit = doc.paths['/runs'].get.parameters.find((p: { name: string }) => p.name === 'limit');
    this.local = openApiDocument({ version: doc.info.version, maxPageSize: limit.schema.maximum });
    expect(JSON.parse(openApiText(this.local)), 'served /openapi.json').toEqual(doc);
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<RestResponse> {
    const token = options.token === undefined ? TEST_TOKEN : options.token;
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}) };
    let body: string | Uint8Array | undefined;
    // Bytes, not a string: fetch would add Content-Type: text/plain to a string body.
    if (options.raw !== undefined)
      body = typeof options.raw === 'string' ? Buffer.from(options.raw) : options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { ...headers, ...options.headers },
      body: body as BodyInit | undefined,
    });
    const text = await response.text();
    expect(response.headers.get('content-type') ?? '', `${method} ${path} content type`).toMatch(
      /^application\/json/,
    );
    const parsed = method === 'HEAD' ? null : JSON.parse(text);
    const result = { status: response.status, headers: response.headers, body: parsed };
    if (method !== 'HEAD') this.validate(method, path, result);
    return result;
  }

  get = (path: string, options?: RequestOptions) => this.request('GET', path, options);
  post = (path: string, body?: unknown, options?: RequestOptions) =>
    this.request('POST', path, { body, ...options });

  private validate(method: string, path: string, response: RestResponse): void {
    const paths: OpenApi = this.local.paths;
    const where = `${method} ${path} → ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`;
    const template = Object.keys(paths).find((t) => templateRegex(t).test(path.split('?')[0]));
    const operation = template ? paths[template][method.toLowerCase()] : undefined;
    if (!operation) {
      // Not a documented operation: only the router's 404/405 may answer, as a JSON error.
      expect([404, 405], where).toContain(response.status);
      expect(check(ErrorBody, response.body), where).toBeNull();
      return;
    }
    const documented = operation.responses[String(response.status)];
    expect(documented, `status not documented: ${where}`).toBeDefined();
    const schema: TSchema | undefined = documented.content?.['application/json']?.schema;
    if (schema) expect(check(schema, response.body), where).toBeNull();
  }
}

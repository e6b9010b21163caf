import type { IncomingHttpHeaders } from 'node:http';
import type { PullRequestChange, PullRequestState } from '../runs/pull-requests.js';
import { unstorableText } from '../runs/validation.js';

/** The forge-neutral shape both parsers produce, so correlation and effects are written once. */

export type WebhookProvider = 'GITHUB' | 'GITLAB';

export type { PullRequestChange, PullRequestState };

export interface PullRequestFacts {
  provider: WebhookProvider;
  /** "owner/repo" or the GitLab project path, as the forge spells it. */
  repository: string;
  number: number;
  url: string;
  title: string | null;
  body: string | null;
  headBranch: string;
  /**
   * The repository the head branch lives in: `repository` itself, or a fork's. Null when the
   * forge does not say (GitHub, for a deleted fork).
   */
  headRepository: string | null;
  /**
   * The account that opened the request (GitHub `pull_request.user.login`; GitLab the `user` whose
   * action sent the delivery, the author when it is an opening). Null when not given.
   */
  author: string | null;
  headSha: string | null;
  baseBranch: string | null;
  /** The request's state as of this delivery. */
  state: PullRequestState;
  createdAt: Date | null;
}

export type ParsedDelivery =
  | { kind: 'ping' }
  | { kind: 'ignored'; reason: string }
  | { kind: 'pull_request'; change: PullRequestChange; pr: PullRequestFacts };

export interface Delivery {
  provider: WebhookProvider;
  deliveryId: string;
  event: string;
  action: string | null;
  parsed: ParsedDelivery;
  /** The accounts the agent opens requests as on this forge (lower case); empty: not configured. */
  agentLogins?: readonly string[];
}

/** A signed payload that is not what its event header says: answered 400. */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

type Json = Record<string, unknown>;

export function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PayloadError(`${what} must be an object`);
  return value as Json;
}

export function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new PayloadError(`${what} must be a non-empty string`);
  return storable(value, what);
}

/** A string, or null when absent or empty; `what` names it when it holds text that cannot be stored. */
export function optionalText(value: unknown, what = 'a field'): string | null {
  return typeof value === 'string' && value !== '' ? storable(value, what) : null;
}

/** NUL or a lone surrogate would fail in PostgreSQL (the delivery record): a bad payload, not a 500. */
function storable(value: string, what: string): string {
  const problem = unstorableText(value);
  if (problem) throw new PayloadError(`${what} ${problem}`);
  return value;
}

export function positiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new PayloadError(`${what} must be a positive integer`);
  return value;
}

/** GitHub sends ISO 8601; GitLab also "2013-12-03 17:23:34 UTC" on older versions. */
export function optionalDate(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** One forge's webhook dialect: how a delivery proves itself, names itself and reads. */
export interface WebhookSource {
  provider: WebhookProvider;
  /** The environment variable that enables the route (named in the 503 answer). */
  secretVariable: string;
  /** Header names, for error messages. */
  eventHeader: string;
  deliveryHeader: string;
  /** Checked before the body is read, so an unsigned request is refused at once. */
  missingCredentials(headers: IncomingHttpHeaders, secret: string): string | null;
  /** Verifies the raw body; returns why it is refused, or null when it is authentic. */
  verify(secret: string, headers: IncomingHttpHeaders, body: Buffer): string | null;
  /** The delivery id (stable across redeliveries) and the event name. */
  identify(
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): { deliveryId: string | undefined; event: string | undefined };
  /** Media types accepted (anything else is answered 415). */
  mediaTypes: readonly string[];
  /** The JSON text inside a verified body of one of `mediaTypes`. */
  decode(mediaType: string, body: Buffer): string;
  parse(event: string, payload: unknown): { action: string | null; parsed: ParsedDelivery };
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
}

import type { Upstream, UpstreamRefusal } from '../runs/upstream.js';
import { RequestBudget } from './budget.js';
import type { OpenHandsDriver } from './driver.js';
import { OpenHandsHttp, UpstreamError } from './http.js';
import type { ApiVersion } from './types.js';
import { V0Driver } from './v0.js';
import { V1Driver } from './v1.js';

const BUDGET_WINDOW_MS = 1100;

export interface OpenHandsClientOptions {
  baseUrl: string;
  token?: string;
  apiVersion: 'auto' | ApiVersion;
  timeoutMs: number;
  maxRetries: number;
  maxRequestsPerSecond: number;
  retryBaseMs?: number;
  onRequest?: ConstructorParameters<typeof OpenHandsHttp>[0]['onRequest'];
}

/** Entry point to OpenHands: picks the API generation (configured or detected) and its driver. */
export class OpenHandsClient implements Upstream {
  readonly http: OpenHandsHttp;
  readonly budget: RequestBudget;
  private readonly drivers: Record<ApiVersion, OpenHandsDriver>;
  private detected: ApiVersion | undefined;

  constructor(private readonly options: OpenHandsClientOptions) {
    // A window a little longer than OpenHands' one second, so that requests released at the edges of
    // two windows cannot land in one of the server's windows after uneven network delays.
    this.budget = new RequestBudget(options.maxRequestsPerSecond, BUDGET_WINDOW_MS);
    this.http = new OpenHandsHttp({
      baseUrl: options.baseUrl,
      token: options.token,
      timeoutMs: options.timeoutMs,
      maxRetries: options.maxRetries,
      budget: this.budget,
      retryBaseMs: options.retryBaseMs,
      onRequest: options.onRequest,
    });
    this.drivers = { v1: new V1Driver(this.http), v0: new V0Driver(this.http) };
  }

  /** A run without a recorded generation (never started) is read as V1, the current one. */
  driver(version: string | null): OpenHandsDriver {
    return version === 'v0' ? this.drivers.v0 : this.drivers.v1;
  }

  /** HTTP answers other than 429 and 5xx: OpenHands refused the request, and will again. */
  refusal(error: unknown): UpstreamRefusal | undefined {
    if (!(error instanceof UpstreamError) || error.kind !== 'http' || error.transient) return undefined;
    return { status: error.status ?? 0, detail: error.detail };
  }

  /** The generation to start new runs on. `auto` probes V1 first and remembers the answer. */
  async versionForNewRuns(): Promise<ApiVersion> {
    if (this.options.apiVersion !== 'auto') return this.options.apiVersion;
    if (this.detected) return this.detected;
    const response = await this.http.request({
      method: 'GET',
      path: '/api/v1/app-conversations/search',
      query: { limit: 1 },
      route: 'GET /api/v1/app-conversations/search',
      idempotent: true,
    });
    if (response.status === 404) this.detected = 'v0';
    else if (response.status < 300) this.detected = 'v1';
    else if (response.status === 401 || response.status === 403) {
      throw new UpstreamError(
        'http',
        'OpenHands refused the token while detecting its API version',
        response.status,
      );
    } else {
      throw new UpstreamError(
        'http',
        `OpenHands answered HTTP ${response.status} while detecting its API version`,
        response.status,
      );
    }
    return this.detected;
  }

  /** GET /alive: whether the server answers at all. */
  async alive(): Promise<boolean> {
    try {
      const response = await this.http.request({
        method: 'GET',
        path: '/alive',
        route: 'GET /alive',
        idempotent: true,
      });
      return response.status === 200;
    } catch {
      return false;
    }
  }
}

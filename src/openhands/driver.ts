import type { Snapshot, StartResult, UpstreamDriver, UpstreamRun } from '../runs/upstream.js';
import type { ApiVersion } from './types.js';

/** The runs module's upstream interface, spoken by the V1 and V0 drivers. */
export type OpenHandsDriver = UpstreamDriver & { readonly version: ApiVersion };
export type { Snapshot, StartResult, UpstreamRun };

/** The title every conversation started for a run carries; how an interrupted start is found again. */
export function runTitle(runId: string): string {
  return `Run ${runId}`;
}

export function gitProviderParam(provider: string | null, repository: string | null): string | null {
  if (!repository) return null;
  return (provider ?? 'GITHUB').toLowerCase();
}

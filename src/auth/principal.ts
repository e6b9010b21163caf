/** Who is calling: a client token, possibly limited to some projects. */
export interface Principal {
  /** Token name for logs ("env:1", "bootstrap", …); never the token itself. */
  name: string;
  /** Projects this token may touch; null means all. */
  projects: string[] | null;
  /** Id of the stored (ApiToken) token, so its revocation can end what it opened; unset for API_TOKENS. */
  tokenId?: string;
}

export const SYSTEM: Principal = { name: 'system', projects: null };

export function canAccessProject(principal: Principal, projectId: string): boolean {
  return principal.projects === null || principal.projects.includes(projectId);
}

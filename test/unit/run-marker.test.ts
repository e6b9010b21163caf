import { describe, expect, it } from 'vitest';
import { promptForAgent, runMarker } from '../../src/runs/run-marker.js';
import { runIdsIn } from '../../src/webhooks/correlate.js';

describe('run marker in the prompt', () => {
  const run = {
    id: 'run_01m8cxcy5zx6rt1w0gw86q1k3f',
    compiledPrompt: 'Fix the login bug',
    repository: 'acme/web',
  };

  it('asks the agent to put the run id in its pull request when there is a repository', () => {
    const prompt = promptForAgent(run, true);
    expect(prompt.startsWith('Fix the login bug\n\n---\n')).toBe(true);
    expect(prompt).toContain(runMarker(run.id));
  });

  it('is what webhook correlation finds in a PR description', () => {
    const body = `Fixes the login bug.\n\n${runMarker(run.id)}`;
    const pr = {
      provider: 'GITHUB' as const,
      repository: 'acme/web',
      number: 3,
      url: 'https://github.com/acme/web/pull/3',
      title: 'Fix login',
      body,
      headBranch: 'fix-login',
      headRepository: 'acme/web',
      author: null,
      headSha: null,
      baseBranch: 'main',
      state: 'OPEN' as const,
      createdAt: null,
    };
    expect(runIdsIn(pr)).toEqual([run.id]);
  });

  it('leaves the prompt alone without a repository or when switched off', () => {
    expect(promptForAgent({ ...run, repository: null }, true)).toBe('Fix the login bug');
    expect(promptForAgent(run, false)).toBe('Fix the login bug');
  });
});

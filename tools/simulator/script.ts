/**
 * The agent's work as version-neutral steps. Each API version renders a step into its own
 * event format (V1 ActionEvent/ObservationEvent, V0 action/observation dicts), so both
 * generations tell the same story: look around, edit, test, commit, open a PR, finish.
 */
import type { Scenario } from './scenarios.js';

export type AgentStep =
  | { type: 'command'; thought: string; command: string; output: string; exitCode: number }
  | { type: 'view'; thought: string; path: string; output: string }
  | { type: 'edit'; thought: string; path: string; oldStr: string; newStr: string }
  /** Opens the pull/merge request; the URL is only known when the step runs (global counter). */
  | { type: 'open-pr'; thought: string }
  | { type: 'ask'; question: string; confirm: boolean }
  | { type: 'fail'; error: string }
  | { type: 'finish' };

export interface RepoInfo {
  /** "owner/repo" (or a GitLab "group/sub/project" path). */
  repository: string;
  branch: string;
  provider: 'github' | 'gitlab';
}

/** Repository used in PR URLs when the conversation was started without one. */
export const DEFAULT_REPOSITORY = 'example/sandbox';

/** Only GitLab gets merge-request URLs; every other (or no) provider gets GitHub-style URLs. */
export function repoInfo(
  repository: string | null,
  branch: string | null,
  provider: string | null,
): RepoInfo {
  return {
    repository: repository && repository.length > 0 ? repository : DEFAULT_REPOSITORY,
    branch: branch && branch.length > 0 ? branch : 'main',
    provider: provider === 'gitlab' ? 'gitlab' : 'github',
  };
}

export function pullRequestUrl(repo: RepoInfo, n: number): string {
  return repo.provider === 'gitlab'
    ? `https://gitlab.com/${repo.repository}/-/merge_requests/${n}`
    : `https://github.com/${repo.repository}/pull/${n}`;
}

export function workBranch(): string {
  return 'openhands/fix-requested-change';
}

/** Text of the `gh pr create` / `glab mr create` command (V1 runs it in the terminal). */
export function createPrCommand(repo: RepoInfo): string {
  return repo.provider === 'gitlab'
    ? `glab mr create --source-branch ${workBranch()} --target-branch ${repo.branch} --title "Apply requested change" --yes`
    : `gh pr create --base ${repo.branch} --head ${workBranch()} --title "Apply requested change" --body "Automated change by OpenHands"`;
}

export function finishMessage(prUrl: string | null): string {
  return prUrl
    ? `I implemented the requested change, ran the tests (all passing) and opened a pull request: ${prUrl}`
    : 'I looked into the request; the repository already does what was asked, so no changes were needed and no pull request was opened.';
}

/**
 * Steps after the agent starts running. The happy path has 7 steps, so with the
 * start phases a whole run takes 12-14 steps.
 */
export function buildScript(scenario: Scenario, repo: RepoInfo): AgentStep[] {
  const name = repo.repository.split('/').pop() ?? 'project';
  const steps: AgentStep[] = [
    {
      type: 'command',
      thought: "Let me look at the repository's layout first.",
      command: 'cd /workspace/project && git status --short --branch && ls',
      output: `## ${repo.branch}...origin/${repo.branch}\nREADME.md\npackage.json\nsrc\ntest`,
      exitCode: 0,
    },
    {
      type: 'view',
      thought: 'Reading the entry point to find where the change belongs.',
      path: `/workspace/project/${name}/src/index.ts`,
      output:
        "     1\texport function greet(name: string): string {\n     2\t  return 'Hello ' + name;\n     3\t}\n",
    },
  ];
  if (scenario.has('ask') || scenario.has('confirm')) {
    steps.push({
      type: 'ask',
      question: 'Should the greeting end with an exclamation mark? Please confirm how to proceed.',
      confirm: scenario.has('confirm') && !scenario.has('ask'),
    });
  }
  if (scenario.has('fail')) {
    steps.push({
      type: 'fail',
      error: 'LLM provider error: litellm.APIConnectionError: connection reset while streaming the response',
    });
    return steps;
  }
  if (scenario.has('no-pr')) {
    steps.push(
      {
        type: 'command',
        thought: 'Checking whether the behaviour already exists.',
        command: 'grep -rn "Hello" src test',
        output:
          "src/index.ts:2:  return 'Hello ' + name;\ntest/index.test.ts:4:  expect(greet('Ada')).toBe('Hello Ada');",
        exitCode: 0,
      },
      {
        type: 'command',
        thought: 'Running the tests to confirm.',
        command: 'npm test',
        output: ' Test Files  3 passed (3)\n      Tests  12 passed (12)',
        exitCode: 0,
      },
      { type: 'finish' },
    );
    return steps;
  }
  steps.push(
    {
      type: 'edit',
      thought: 'Applying the requested change.',
      path: `/workspace/project/${name}/src/index.ts`,
      oldStr: "  return 'Hello ' + name;",
      newStr: "  return 'Hello, ' + name + '!';",
    },
    {
      type: 'command',
      thought: 'Running the test suite.',
      command: 'npm test',
      output: ' Test Files  3 passed (3)\n      Tests  12 passed (12)',
      exitCode: 0,
    },
    {
      type: 'command',
      thought: 'Committing and pushing the change on a new branch.',
      command: `git checkout -b ${workBranch()} && git commit -am "Apply requested change" && git push -u origin ${workBranch()}`,
      output: `Switched to a new branch '${workBranch()}'\n[${workBranch()} 3f2c1ab] Apply requested change\n 1 file changed, 1 insertion(+), 1 deletion(-)\nbranch '${workBranch()}' set up to track 'origin/${workBranch()}'.`,
      exitCode: 0,
    },
    { type: 'open-pr', thought: 'Opening a pull request for review.' },
    { type: 'finish' },
  );
  return steps;
}

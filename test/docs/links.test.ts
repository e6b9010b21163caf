import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Folders that hold no documentation of ours (dependencies, generated code, local data). */
const SKIPPED_DIRS = new Set(['node_modules', '.git', '.data', 'generated', 'coverage', 'scratch']);

/** Every Markdown file in the repository, plus .env.example (whose comments point at docs). */
function documentationFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(join(dir, entry.name));
      } else if (entry.name.endsWith('.md')) {
        found.push(join(dir, entry.name));
      }
    }
  };
  walk(root);
  const envExample = join(root, '.env.example');
  if (existsSync(envExample)) found.push(envExample);
  return found.sort();
}

/** Fenced code is not prose: `a[0](b)` or `# comment` in a snippet is neither a link nor a heading. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '));
}

/** Inline code spans too: `[x](y)` quoted in prose is an example, not a link. */
function withoutCode(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, (span) => ' '.repeat(span.length));
}

/** Targets of inline links `[text](target "title")`, images, and reference definitions `[id]: target`. */
function markdownTargets(markdown: string): string[] {
  const prose = withoutCode(markdown);
  const inline = [...prose.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+["'(][^)]*)?\)/g)].map((m) => m[1]);
  const definitions = [...prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/gm)].map((m) => m[1]);
  return [...inline, ...definitions].map((target) => target.replace(/^<|>$/g, ''));
}

/** In a plain-text file (.env.example), a relative path with a known extension, e.g. docs/webhooks.md. */
function plainTextTargets(text: string): string[] {
  const path =
    /(?<![\w/.:@-])((?:\.{1,2}\/)?[\w.-]+(?:\/[\w.-]+)+\.(?:md|ts|js|mjs|json|ya?ml|prisma|graphql|sql))\b/g;
  return [...text.matchAll(path)].map((m) => m[1]);
}

/** External (any URL scheme: http, https, mailto, …) and same-page `#anchor` links are not files. */
function isFileLink(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#') && target !== '';
}

/** The file a link names: anchor and query dropped, relative to the linking file (`/x` = repository root). */
function resolveTarget(root: string, file: string, target: string): string {
  const path = decodeURIComponent(target.replace(/[#?].*$/, ''));
  return path.startsWith('/') ? join(root, path) : resolve(dirname(file), path);
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered -1, -2, … */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*_]/g, '');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Why a link is broken, or undefined when it is not: its file is missing, or a Markdown file lacks its anchor. */
function problem(root: string, file: string, target: string): string | undefined {
  const path = resolveTarget(root, file, target);
  if (!existsSync(path)) return 'no such file';
  const anchor = target.match(/#(.+)$/)?.[1];
  if (anchor === undefined || !path.endsWith('.md')) return undefined;
  return headingAnchors(readFileSync(path, 'utf8')).has(decodeURIComponent(anchor))
    ? undefined
    : 'no such heading';
}

function brokenLinks(root: string): string[] {
  const broken: string[] = [];
  for (const file of documentationFiles(root)) {
    const text = readFileSync(file, 'utf8');
    const targets = file.endsWith('.md')
      ? markdownTargets(text)
      : [...markdownTargets(text), ...plainTextTargets(text)];
    for (const target of targets.filter(isFileLink)) {
      const why = problem(root, file, target);
      if (why) broken.push(`${relative(root, file)}: ${target} (${why})`);
    }
  }
  return broken;
}

describe('documentation links', () => {
  it('every relative link in README.md, docs/ and .env.example names a file (and heading) that exists', () => {
    const files = documentationFiles(ROOT).map((file) => relative(ROOT, file));
    expect(files).toContain('README.md');
    expect(files).toContain('.env.example');
    expect(files.filter((file) => file.startsWith('docs/')).length).toBeGreaterThan(0);
    expect(brokenLinks(ROOT)).toEqual([]);
  });

  describe('the checker', () => {
    const root = mkdtempSync(join(tmpdir(), 'links-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('reports each missing file or heading with the file that links to it, and nothing else', () => {
      mkdirSync(join(root, 'docs/deep'), { recursive: true });
      writeFileSync(
        join(root, 'docs/real.md'),
        '# Real\n\n## Set-up: `npm` (fast)\n\n## Set-up: `npm` (fast)\n',
      );
      writeFileSync(join(root, 'docs/deep/leaf.md'), '[up](../real.md) [gone](../nowhere.md#part)\n');
      writeFileSync(
        join(root, 'README.md'),
        [
          '[ok](docs/real.md) [ok with anchor](docs/real.md#real) [root-relative](/docs/real.md)',
          '[web](https://example.com/x.md) [mail](mailto:a@b.c) [here](#section)',
          '[missing](docs/missing.md) [bad anchor](docs/real.md#unreal) ![img](img/logo.png "Logo")',
          '[heading](docs/real.md#set-up-npm-fast) [repeat](docs/real.md#set-up-npm-fast-1)',
          '`[not a link](nope.md)`',
          '```md',
          '[in a code block](nope.md)',
          '```',
          '[ref]: docs/absent.md',
        ].join('\n'),
      );
      writeFileSync(
        join(root, '.env.example'),
        '# See docs/real.md and docs/gone.md\nURL=redis://h:1/x.json\n',
      );

      expect(brokenLinks(root)).toEqual([
        '.env.example: docs/gone.md (no such file)',
        'README.md: docs/missing.md (no such file)',
        'README.md: docs/real.md#unreal (no such heading)',
        'README.md: img/logo.png (no such file)',
        'README.md: docs/absent.md (no such file)',
        'docs/deep/leaf.md: ../nowhere.md#part (no such file)',
      ]);
    });
  });
});

// The documentation's links and paths must lead somewhere: every relative link in README.md,
// CHANGELOG.md, models/README.md and docs/ resolves to a file or folder of the repository (and, for `file#anchor`,
// to a heading of that file, slugged as GitHub does), and every repository path a page names in
// backticks (`src/...`, `test/...`, ...) exists. A file moved or renamed without its docs fails here.
// The README stays a front door: at most 300 lines, the two set-up commands first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './helpers/cli.js';

function markdownFiles() {
  const files = ['README.md', 'CHANGELOG.md', 'models/README.md'].filter((f) => existsSync(path.join(repoRoot, f)));
  const walk = (dir) => {
    for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.md')) files.push(rel);
    }
  };
  walk('docs');
  return files;
}

/** The lines of a Markdown file outside fenced code blocks, with their 1-based numbers. */
function proseLines(text) {
  const out = [];
  let fence = null;
  text.split('\n').forEach((line, i) => {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (m) {
      if (fence === null) fence = m[1][0];
      else if (m[1][0] === fence) fence = null;
      return;
    }
    if (fence === null) out.push({ line, n: i + 1 });
  });
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats numbered. */
function headingSlugs(text) {
  const slugs = new Set();
  const seen = new Map();
  for (const { line } of proseLines(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const plain = m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = plain.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    slugs.add(count === 0 ? base : `${base}-${count}`);
  }
  return slugs;
}

/** Inline links and images `[text](target)` outside code spans and fences. */
function links(text) {
  const found = [];
  for (const { line, n } of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, (s) => ' '.repeat(s.length));
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) found.push({ target: m[1], n });
  }
  return found;
}

const slugCache = new Map();
function slugsOf(file) {
  if (!slugCache.has(file)) slugCache.set(file, headingSlugs(readFileSync(file, 'utf8')));
  return slugCache.get(file);
}

test('headingSlugs follows GitHub', () => {
  const slugs = headingSlugs('# Big photos: `--fast-decode`\n## Tasks\n## Tasks\n```\n# not a heading\n```\n### Oriented boxes (`task: obb`)\n');
  assert.deepEqual([...slugs], ['big-photos---fast-decode', 'tasks', 'tasks-1', 'oriented-boxes-task-obb']);
});

test('every relative link in README.md, CHANGELOG.md, models/README.md and docs/ resolves', () => {
  const broken = [];
  let checked = 0;
  for (const rel of markdownFiles()) {
    const file = path.join(repoRoot, rel);
    for (const { target, n } of links(readFileSync(file, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
      checked++;
      const [pathPart, anchor] = target.split('#', 2);
      const dest = pathPart === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart));
      const where = `${rel}:${n}: ${target}`;
      if (!dest.startsWith(repoRoot + path.sep) && dest !== repoRoot) {
        broken.push(`${where} (leaves the repository)`);
        continue;
      }
      if (!existsSync(dest)) {
        broken.push(`${where} (no such file)`);
        continue;
      }
      if (anchor !== undefined && anchor !== '') {
        if (!dest.endsWith('.md') || statSync(dest).isDirectory()) continue;
        if (!slugsOf(dest).has(anchor)) broken.push(`${where} (no heading #${anchor} in ${path.relative(repoRoot, dest)})`);
      }
    }
  }
  assert.ok(checked > 50, `only ${checked} links found: is the parser broken?`);
  assert.deepEqual(broken, []);
});

test('every repository path the docs name in backticks exists', () => {
  const missing = [];
  const roots = /^(src|test|bench|scripts|examples|bin|models|docs)\/[\w./-]*$/;
  for (const rel of markdownFiles()) {
    const text = readFileSync(path.join(repoRoot, rel), 'utf8');
    for (const { line, n } of proseLines(text)) {
      for (const m of line.matchAll(/`([^`\s]+)`/g)) {
        const p = m[1];
        if (!roots.test(p) || /[*<>{}]/.test(p)) continue;
        if (!existsSync(path.join(repoRoot, p))) missing.push(`${rel}:${n}: ${p}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

test('the README is a front door: ≤ 300 lines, the two set-up commands on its first screen', () => {
  const text = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const lines = text.split('\n');
  assert.ok(lines.length <= 300, `README.md has ${lines.length} lines`);
  const firstScreen = lines.slice(0, 15).join('\n');
  const block = /```sh\n([\s\S]*?)```/.exec(firstScreen);
  assert.ok(block, 'no sh code block in the first 15 lines');
  const commands = block[1].trim().split('\n');
  assert.match(commands[0], /^npm ci && npx yolo-serve batch /);
  assert.equal(commands[1], 'npm test');
});

test('package.json ships what the README links to', () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  for (const f of ['README.md', 'CHANGELOG.md', 'docs']) assert.ok(pkg.files.includes(f), `package.json "files" lacks ${f}`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, symlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expandInputs, InputError, isImagePath, IMAGE_EXTENSIONS } from '../dist/inputs/index.js';
import { parseCsv } from '../dist/inputs/csv-parse.js';

/** Creates files (content irrelevant) under a fresh temp dir; returns its path. */
async function tree(files) {
  const root = await mkdtemp(path.join(tmpdir(), 'yolo-inputs-'));
  for (const f of files) {
    const p = path.join(root, f);
    if (f.endsWith('/')) await mkdir(p, { recursive: true });
    else {
      await mkdir(path.dirname(p), { recursive: true });
      await writeFile(p, 'x');
    }
  }
  return root;
}

const paths = (res) => res.jobs.map((j) => j.path);
const rel = (root, res) => res.jobs.map((j) => path.relative(root, j.path));

async function inputError(promise) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof InputError, `expected InputError, got ${err}`);
    return err;
  }
  assert.fail('expected an InputError');
}

test('image types: case-insensitive extension check', () => {
  assert.deepEqual([...IMAGE_EXTENSIONS], ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.avif', '.gif']);
  assert.equal(isImagePath('/a/B.JPG'), true);
  assert.equal(isImagePath('x.TiFf'), true);
  assert.equal(isImagePath('x.avif'), true);
  assert.equal(isImagePath('x.bmp'), false);
  assert.equal(isImagePath('jpg'), false);
  assert.equal(isImagePath('dir.jpg/readme'), false);
});

const DIR_FILES = [
  'd/b.jpg', 'd/a.PNG', 'd/a-b.jpg', 'd/Z.jpg', 'd/b/x.jpg', 'd/notes.txt', 'd/.hidden.jpg',
  'd/sub/c.jpeg', 'd/sub/readme.md', 'd/sub/deeper/e.WebP', 'd/.git/f.jpg',
];

test('directory: recursive walk, byte-order sort by full path, non-images skipped', async () => {
  const root = await tree(DIR_FILES);
  const res = await expandInputs(['d'], { recursive: true, cwd: root });
  assert.deepEqual(rel(root, res), [
    'd/Z.jpg', 'd/a-b.jpg', 'd/a.PNG', 'd/b.jpg', 'd/b/x.jpg', 'd/sub/c.jpeg', 'd/sub/deeper/e.WebP',
  ]);
  assert.deepEqual(res.jobs.map((j) => j.index), [0, 1, 2, 3, 4, 5, 6]);
  assert.ok(res.jobs.every((j) => path.isAbsolute(j.path) && j.error === undefined));
  assert.equal(res.skipped, 2); // notes.txt, sub/readme.md; hidden entries are ignored
  assert.equal(res.duplicates, 0);
  await rm(root, { recursive: true });
});

test('directory: recursive=false lists only the top level', async () => {
  const root = await tree(DIR_FILES);
  const res = await expandInputs([path.join(root, 'd')], { recursive: false });
  assert.deepEqual(rel(root, res), ['d/Z.jpg', 'd/a-b.jpg', 'd/a.PNG', 'd/b.jpg']);
  assert.equal(res.skipped, 1);
  await rm(root, { recursive: true });
});

test('explicit files: images become jobs, unsupported types become error jobs', async () => {
  const root = await tree(['pic.bmp', 'one.JPEG', 'doc']);
  const res = await expandInputs(['pic.bmp', 'one.JPEG', 'doc'], { recursive: true, cwd: root });
  assert.deepEqual(rel(root, res), ['pic.bmp', 'one.JPEG', 'doc']);
  assert.equal(res.jobs[0].error.code, 'UNSUPPORTED_TYPE');
  assert.match(res.jobs[0].error.message, /unsupported file type \.bmp \(supported: jpg, jpeg, png/);
  assert.equal(res.jobs[1].error, undefined);
  assert.equal(res.jobs[2].error.code, 'UNSUPPORTED_TYPE');
  assert.match(res.jobs[2].error.message, /\(no extension\)/);
  await rm(root, { recursive: true });
});

test('globs: sorted matches; a literal path with glob characters is not a glob', async () => {
  const root = await tree(['d/b.jpg', 'd/a.jpg', 'd/c.png', 'd/n.txt', 'd/s/z.jpg', 'photo [1].jpg', 'photo 1.jpg']);
  const res = await expandInputs(['d/*.jpg', 'd/**/*.{png,jpg}'], { recursive: true, cwd: root });
  assert.deepEqual(rel(root, res), ['d/a.jpg', 'd/b.jpg', 'd/c.png', 'd/s/z.jpg']);
  assert.equal(res.duplicates, 2);
  const lit = await expandInputs(['photo [1].jpg'], { recursive: true, cwd: root });
  assert.deepEqual(rel(root, lit), ['photo [1].jpg']);
  const star = await expandInputs(['d/*'], { recursive: true, cwd: root });
  assert.deepEqual(rel(root, star), ['d/a.jpg', 'd/b.jpg', 'd/c.png']);
  assert.equal(star.skipped, 1); // n.txt; the sub-directory is not a file
  await rm(root, { recursive: true });
});

test('globs matching nothing usable are InputErrors', async () => {
  const root = await tree(['d/a.jpg', 'd/n.txt']);
  const err = await inputError(expandInputs(['d/*.gif', 'd/*.txt'], { recursive: true, cwd: root }));
  assert.deepEqual(err.problems, [
    "glob matched no images: 'd/*.gif'",
    "glob matched no images: 'd/*.txt' (1 other file skipped)",
  ]);
  assert.equal(err.message, err.problems.join('\n'));
  await rm(root, { recursive: true });
});

test('txt manifest: comments, blanks, CRLF, relative to the manifest, spaces and unicode kept', async () => {
  const root = await tree(['imgs/b.jpg', 'm/ünï cødé.png', 'm/ lead space.jpg', 'm/subdir/', 'm/notes.md']);
  const lines = [
    '# a comment', '', '../imgs/b.jpg', 'ünï cødé.png', ' lead space.jpg', '   ',
    '/no/such/place.jpg', 'subdir', 'notes.md', 'gone', 'a trailing space.jpg ',
  ];
  await writeFile(path.join(root, 'm/list.txt'), lines.join('\r\n') + '\r\n');
  const res = await expandInputs(['m/list.txt'], { recursive: true, cwd: root });
  assert.deepEqual(paths(res), [
    path.join(root, 'imgs/b.jpg'),
    path.join(root, 'm/ünï cødé.png'),
    path.join(root, 'm/ lead space.jpg'),
    '/no/such/place.jpg',
    path.join(root, 'm/subdir'),
    path.join(root, 'm/notes.md'),
    path.join(root, 'm/gone'),
    path.join(root, 'm/a trailing space.jpg '),
  ]);
  assert.deepEqual(res.jobs.map((j) => j.error?.code ?? null), [
    null, null, null, null, 'IS_DIRECTORY', 'UNSUPPORTED_TYPE', null, null,
  ]);
  await rm(root, { recursive: true });
});

test('csv parser: RFC 4180 quoting, CRLF, embedded newlines, unterminated quote', () => {
  const recs = parseCsv('a,b\r\n"x, y","say ""hi"""\n"multi\nline",\n,\n');
  assert.deepEqual(recs.map((r) => r.fields), [['a', 'b'], ['x, y', 'say "hi"'], ['multi\nline', ''], ['', '']]);
  assert.deepEqual(recs.map((r) => r.line), [1, 2, 3, 5]);
  assert.deepEqual(parseCsv('p\nlast').map((r) => r.fields), [['p'], ['last']]);
  assert.deepEqual(parseCsv('a\rb,c\n').map((r) => r.fields), [['a\rb', 'c']]);
  assert.throws(() => parseCsv('p\n"open\n'), /unterminated quoted field starting on line 2/);
});

test('csv manifest: quoted fields, BOM, custom column, missing column', async () => {
  const root = await tree(['m/a, comma.jpg', 'm/q "x".jpg', 'm/new\nline.png', 'other/o.jpg']);
  const csv = '\ufeffid,path,label\r\n1,"a, comma.jpg",x\r\n2,"q ""x"".jpg",y\r\n3,"new\nline.png",z\r\n,,\r\n4,../other/o.jpg,w\r\n';
  await writeFile(path.join(root, 'm/list.csv'), csv);
  const res = await expandInputs(['m/list.csv'], { recursive: true, cwd: root });
  assert.deepEqual(rel(root, res), ['m/a, comma.jpg', 'm/q "x".jpg', 'm/new\nline.png', 'other/o.jpg']);

  await writeFile(path.join(root, 'm/files.csv'), 'file,score\n"a, comma.jpg",1\n');
  const custom = await expandInputs(['m/files.csv'], { recursive: true, cwd: root, pathColumn: 'file' });
  assert.deepEqual(rel(root, custom), ['m/a, comma.jpg']);

  const err = await inputError(expandInputs(['m/files.csv'], { recursive: true, cwd: root }));
  assert.deepEqual(err.problems, ["manifest m/files.csv has no 'path' column (columns: 'file', 'score')"]);

  await writeFile(path.join(root, 'm/bad.csv'), 'path\nok.jpg\n"never closed.jpg\n');
  const bad = await inputError(expandInputs(['m/bad.csv'], { recursive: true, cwd: root }));
  assert.deepEqual(bad.problems, ['manifest m/bad.csv: unterminated quoted field starting on line 3']);
  await rm(root, { recursive: true });
});

test('jsonl manifest: path field, relative resolution, bad lines named', async () => {
  const root = await tree(['m/a.jpg', 'x/b.png']);
  await writeFile(path.join(root, 'm/l.jsonl'), '{"path":"a.jpg","k":1}\n\n{"path":"../x/b.png"}\n');
  const res = await expandInputs(['m/l.jsonl'], { recursive: true, cwd: root });
  assert.deepEqual(rel(root, res), ['m/a.jpg', 'x/b.png']);

  await writeFile(path.join(root, 'm/bad.jsonl'), '{"path":"a.jpg"}\n{"path": "b.jpg"\n{"file":"c.jpg"}\n');
  const err = await inputError(expandInputs(['m/bad.jsonl'], { recursive: true, cwd: root }));
  assert.equal(err.problems.length, 2);
  assert.match(err.problems[0], /^manifest m\/bad\.jsonl line 2: invalid JSON \(/);
  assert.equal(err.problems[1], "manifest m/bad.jsonl line 3: no 'path' string field");
  await rm(root, { recursive: true });
});

test('stdin (-): one path per line, relative to cwd', async () => {
  const root = await tree(['d/b.jpg', 'd/c.jpeg', 'd/sub/']);
  const stdin = Readable.from([Buffer.from('d/b.jpg\n# skip\n'), Buffer.from('d/c.jp'), Buffer.from('eg\r\nd/sub\n')]);
  const res = await expandInputs(['-'], { recursive: true, cwd: root, stdin });
  assert.deepEqual(rel(root, res), ['d/b.jpg', 'd/c.jpeg', 'd/sub']);
  assert.equal(res.jobs[2].error.code, 'IS_DIRECTORY');
  const empty = await inputError(expandInputs(['-'], { recursive: true, cwd: root, stdin: Readable.from([]) }));
  assert.deepEqual(empty.problems, ['no paths on stdin (-)']);
  await rm(root, { recursive: true });
});

test('duplicates across inputs are kept once, in first-seen order', async () => {
  const root = await tree(['d/a.jpg', 'd/b.jpg', 'e/c.jpg']);
  await writeFile(path.join(root, 'list.txt'), 'e/c.jpg\nd/b.jpg\n');
  const res = await expandInputs(['e/c.jpg', 'd', './d/../d/a.jpg', 'list.txt', path.join(root, 'e')], {
    recursive: true,
    cwd: root,
  });
  assert.deepEqual(rel(root, res), ['e/c.jpg', 'd/a.jpg', 'd/b.jpg']);
  assert.equal(res.duplicates, 4);
  await rm(root, { recursive: true });
});

test('all unusable inputs are reported together', async () => {
  const root = await tree(['ok.jpg', 'empty/n1.txt', 'empty/n2.md', 'empty/n3', 'hiddenonly/.a.jpg']);
  await writeFile(path.join(root, 'blank.txt'), '# nothing\n\n');
  const err = await inputError(
    expandInputs(['./imgs', 'ok.jpg', 'x/*.png', 'empty', 'hiddenonly', 'blank.txt'], { recursive: true, cwd: root }),
  );
  assert.deepEqual(err.problems, [
    'no such file or directory: ./imgs',
    "glob matched no images: 'x/*.png'",
    'directory contains no images: empty (3 other files skipped)',
    'directory contains no images: hiddenonly',
    'manifest lists no paths: blank.txt',
  ]);
  await inputError(expandInputs([], { recursive: true, cwd: root }));
  await rm(root, { recursive: true });
});

test('symlinks: loops are walked once, broken image links kept (they become error records)', async () => {
  const root = await tree(['L/a.jpg', 'L/sub/b.jpg', 'ext/e.jpg']);
  await symlink('.', path.join(root, 'L/loop'));
  await symlink('..', path.join(root, 'L/sub/up'));
  await symlink('nowhere.jpg', path.join(root, 'L/broken.jpg'));
  await symlink('self', path.join(root, 'L/self'));
  await symlink('../ext', path.join(root, 'L/ext-link'));
  const res = await expandInputs(['L'], { recursive: true, cwd: root });
  // Loops resolve to directories already walked; the outside dir is reached through its link.
  assert.deepEqual(rel(root, res), ['L/a.jpg', 'L/broken.jpg', 'L/ext-link/e.jpg', 'L/sub/b.jpg']);
  assert.equal(res.skipped, 1); // self (ELOOP, not named like an image)

  const glob = await expandInputs(['L/**/*.jpg'], { recursive: true, cwd: root });
  assert.deepEqual(rel(root, glob), ['L/a.jpg', 'L/broken.jpg', 'L/sub/b.jpg']); // globs don't descend symlinked dirs
  assert.equal(glob.skipped, 0);
  await rm(root, { recursive: true });
});

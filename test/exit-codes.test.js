// The exit-status table (src/exit-codes.ts): worse()'s order, every command's exits drawn from the
// table, no exit-code literal elsewhere in src/, and each command's --help listing its codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT_STATUSES, exitCodesHelp, exitStatus, exitStatusesOf, worse } from '../dist/exit-codes.js';
import { buildProgram } from '../dist/program.js';
import { SIGNAL_EXIT_CODES } from '../dist/reliability/signals.js';
import { stopExitCode } from '../dist/reliability/run-guard.js';
import { inspectExitCode } from '../dist/commands/inspect.js';
import { MERGE_OK, MERGE_PROBLEMS } from '../dist/commands/merge.js';
import { EVAL_GATE_FAILED, EVAL_OK } from '../dist/commands/eval.js';
import { DIFF_GATE_FAILED, DIFF_OK } from '../dist/commands/diff.js';
import { finalExitCode } from '../dist/run/finish.js';

const CODES = new Set(EXIT_STATUSES.map((s) => s.code));
const srcDir = path.join(import.meta.dirname, '..', 'src');

test('the table: unique codes and names; 70 (internal) and 141 (output closed) are in it', () => {
  assert.equal(CODES.size, EXIT_STATUSES.length);
  assert.equal(new Set(EXIT_STATUSES.map((s) => s.name)).size, EXIT_STATUSES.length);
  assert.equal(exitStatus(70).name, 'internal');
  assert.equal(exitStatus(141).name, 'output-closed');
  assert.throws(() => exitStatus(42), /not in src\/exit-codes\.ts/);
});

test('worse(): the more severe wins, a tie keeps the first (the run guard\'s old severity order)', () => {
  assert.equal(worse(0, 1), 1);
  assert.equal(worse(1, 0), 1);
  assert.equal(worse(1, 130), 130); // a signal stop beats the error budget
  assert.equal(worse(130, 3), 3); // a broken run beats a signal
  assert.equal(worse(3, 141), 3); // of two equally final ends, the first explains the rest
  assert.equal(worse(141, 3), 141);
  assert.equal(worse(130, 143), 130);
  assert.equal(worse(3, 2), 2);
  assert.equal(worse(2, 70), 70);
  // What `batch` did before the table: a summary/report failure was Math.max(code, 1).
  for (const code of [0, 1, 3, 130, 141, 143]) assert.equal(finalExitCode(code, { labels: false, reports: true }), Math.max(code, 1));
  assert.equal(finalExitCode(0, { labels: true, reports: true }), 3);
  assert.equal(finalExitCode(1, { labels: true, reports: false }), 3);
  assert.equal(finalExitCode(141, { labels: true, reports: false }), 141);
});

test('every code a command can return is in the table', () => {
  const returned = [
    ...Object.values(SIGNAL_EXIT_CODES),
    ...['error-budget', 'inference-failed', 'output-failed', 'output-closed'].map((kind) => stopExitCode({ kind, message: '' })),
    stopExitCode({ kind: 'signal', signal: 'SIGINT' }),
    inspectExitCode({ usable: false, probe: { ran: false } }),
    inspectExitCode({ usable: true, probe: { ran: true, ok: false } }),
    inspectExitCode({ usable: true, probe: { ran: true, ok: true } }),
    MERGE_OK, MERGE_PROBLEMS, EVAL_OK, EVAL_GATE_FAILED, DIFF_OK, DIFF_GATE_FAILED,
  ];
  for (const code of returned) assert.ok(CODES.has(code), `exit code ${code} is not in the table`);
});

test('no exit-code literal in src/ outside exit-codes.ts (the compiler checks the rest: onExit takes an ExitCode)', () => {
  const patterns = [/onExit\(\s*\d/, /exitCode\s*=\s*\d/, /exitCode:\s*\d/, /Math\.max\(\s*exitCode/, /onExit:\s*\(code:\s*number\)/, /export const \b(EXIT_\w+|\w+_OK|\w+_FAILED|\w+_PROBLEMS)\s*=\s*\d/, /:\s*\{\s*SIGINT:\s*\d/];
  const offenders = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && e.name !== 'exit-codes.ts') {
        readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
          if (patterns.some((re) => re.test(line))) offenders.push(`${path.relative(srcDir, p)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
  };
  walk(srcDir);
  assert.deepEqual(offenders, []);
});

test('each command\'s --help lists every code it can end with, as the table words it', () => {
  const program = buildProgram(() => {});
  for (const cmd of program.commands) {
    let text = '';
    cmd.configureOutput({ writeOut: (s) => (text += s) });
    cmd.outputHelp();
    const statuses = exitStatusesOf(cmd.name());
    assert.ok(statuses.length > 0, cmd.name());
    const flat = text.replace(/\s+/g, ' ');
    assert.ok(flat.includes(exitCodesHelp(cmd.name()).replace(/\s+/g, ' ')), `${cmd.name()} --help has the generated paragraph`);
    const para = flat.slice(flat.indexOf('Exit codes:'));
    for (const s of statuses) assert.match(para, new RegExp(`(^|[ /])${s.code}[ /]`), `${cmd.name()} --help lists ${s.code}`);
  }
  // batch names both signals and the resume advice; 141 (| head) is there too.
  const batch = exitCodesHelp('batch').replace(/\s+/g, ' ');
  assert.match(batch, /130\/143 interrupted by SIGINT\/SIGTERM/);
  assert.match(batch, /141 --out - closed by its reader/);
  assert.match(batch, /70 internal error/);
  assert.match(batch, /After 1 \(budget\), 3, 130 or 143, rerun the same command with --resume/);
});

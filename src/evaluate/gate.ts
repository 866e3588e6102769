// CI gates: `--fail-under mAP50=0.55,mAP=0.35` (eval) and `--fail-if changed-images>0.05` (diff).
// A gate is a comma-separated list of `metric OP value`; value may end in % (5% = 0.05).
// Any condition that holds fails the gate. Bad input is a usage error naming the flag, the item
// and the known metrics.
import { UsageError } from '../config.js';

export type Op = '>' | '>=' | '<' | '<=' | '==' | '!=';

export interface Condition {
  metric: string;
  op: Op;
  value: number;
  /** The item as written, for messages. */
  text: string;
}

const ITEM = /^\s*([A-Za-z][A-Za-z0-9_.@-]*?)\s*(>=|<=|==|!=|>|<|=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(%?)\s*$/;

/**
 * Parses a gate. `bare` is what `metric=value` means for this flag (for --fail-under: `<`,
 * i.e. fail when the metric is under the value). Metric names match case-insensitively.
 */
export function parseGate(flag: string, text: string, known: readonly string[], bare: Op): Condition[] {
  const items = text.split(',').filter((s) => s.trim() !== '');
  if (items.length === 0) throw new UsageError(`${flag}: empty; expected e.g. ${example(known, bare)}`);
  return items.map((item) => {
    const m = ITEM.exec(item);
    if (!m) throw new UsageError(`${flag}: cannot read '${item.trim()}': expected METRIC${bare === '<' ? '=' : '>'}VALUE, e.g. ${example(known, bare)}`);
    const metric = known.find((k) => k.toLowerCase() === m[1]!.toLowerCase());
    if (!metric) throw new UsageError(`${flag}: unknown metric '${m[1]}' in '${item.trim()}' (known: ${known.join(', ')})`);
    const value = Number(m[3]) / (m[4] ? 100 : 1);
    return { metric, op: m[2] === '=' ? bare : (m[2] as Op), value, text: item.trim() };
  });
}

function example(known: readonly string[], bare: Op): string {
  return bare === '<' ? `${known[0]}=0.5` : `${known[0]}>0.05`;
}

export function holds(actual: number, op: Op, value: number): boolean {
  switch (op) {
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '==':
      return actual === value;
    case '!=':
      return actual !== value;
  }
}

export interface GateFailure {
  condition: Condition;
  actual: number;
}

/** The conditions that hold (each one fails the gate). */
export function checkGate(conds: readonly Condition[], values: Record<string, number>): GateFailure[] {
  return conds.filter((c) => holds(values[c.metric]!, c.op, c.value)).map((c) => ({ condition: c, actual: values[c.metric]! }));
}

const WORDS: Record<Op, string> = { '<': 'is under', '<=': 'is at or under', '>': 'is above', '>=': 'is at or above', '==': 'equals', '!=': 'differs from' };

/** "mAP50 0.512 is under 0.55" — for the one-line reason. */
export function describeFailure(f: GateFailure, digits = 4): string {
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(digits));
  return `${f.condition.metric} ${fmt(f.actual)} ${WORDS[f.condition.op]} ${fmt(f.condition.value)}`;
}

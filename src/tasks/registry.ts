// The tasks yolo-serve runs, keyed by Ultralytics' task name. Adding a task: write its
// TaskDefinition in this folder and add it here (README, Development).
import { ModelError } from '../model/errors.js';
import type { TaskName } from '../types.js';
import { detect } from './detect.js';
import { pose } from './pose.js';
import { segment } from './segment.js';
import type { TaskContext, TaskDefinition } from './types.js';

export const TASKS: Readonly<Partial<Record<TaskName, TaskDefinition>>> = { detect, segment, pose };

/** Tasks asked in this order when the metadata has no `task`; detect, the fallback, last. */
const RECOGNITION_ORDER: readonly TaskDefinition[] = [pose, segment, detect];

export function taskNamed(name: string): TaskDefinition | undefined {
  return Object.prototype.hasOwnProperty.call(TASKS, name) ? TASKS[name as TaskName] : undefined;
}

/**
 * The task of a model: its metadata `task` when Ultralytics wrote one, else the first task that
 * recognises the outputs (`kpt_shape` → pose, a prototype output → segment), else detect.
 */
export function taskFor(ctx: TaskContext): TaskDefinition {
  const declared = ctx.metadata.task;
  if (declared !== undefined) {
    const t = taskNamed(declared);
    if (!t) throw new ModelError(`its metadata says task '${declared}', which yolo-serve does not run (supported: ${Object.keys(TASKS).join(', ')})`);
    return t;
  }
  return RECOGNITION_ORDER.find((t) => t.recognises(ctx)) ?? detect;
}

// A task row <-> the task panel's form values (the task's own columns plus its args form).
import { formToArgs, initialFormValues, type FieldSpec } from './argForm';
import type { Task } from './model';

export interface TaskFormValues {
  name: string;
  label: string;
  args: Record<string, unknown>;
  resource_cpu: string;
  resource_memory: string;
  resource_gpu: string;
  timeout: number | null;
  retry: number | null;
  skip: boolean;
  command: string;
  working_dir: string;
  volume_mount: string;
  node_selector: string;
}

// The server's column defaults (task_cols in res_pipeline.c).
export const TASK_DEFAULTS = { resource_cpu: '1', resource_memory: '2G', resource_gpu: '0', timeout: 0, retry: 0, skip: false } as const;

// The server's column formats, for the resource fields.
export const CPU_RE = /^[0-9]+(\.[0-9]+)?(~[0-9]+(\.[0-9]+)?)?$/;
export const MEM_RE = /^[0-9]+(\.[0-9]+)?[MGT]?(~[0-9]+(\.[0-9]+)?[MGT]?)?$/;
export const GPU_RE = /^([0-9]+(\.[0-9]+)?)?(\([A-Za-z0-9_-]+\))?$/;
export const NODE_SELECTOR_RE = /^([A-Za-z0-9_./-]+=[A-Za-z0-9_.-]*(;[A-Za-z0-9_./-]+=[A-Za-z0-9_.-]*)*)?$/;

export function taskToForm(task: Task, specs: FieldSpec[]): TaskFormValues {
  return {
    name: task.name,
    label: task.label ?? '',
    args: initialFormValues(specs, task.args),
    resource_cpu: task.resource_cpu ?? TASK_DEFAULTS.resource_cpu,
    resource_memory: task.resource_memory ?? TASK_DEFAULTS.resource_memory,
    resource_gpu: task.resource_gpu ?? TASK_DEFAULTS.resource_gpu,
    timeout: task.timeout ?? 0,
    retry: task.retry ?? 0,
    skip: !!task.skip,
    command: task.command ?? '',
    working_dir: task.working_dir ?? '',
    volume_mount: task.volume_mount ?? '',
    node_selector: task.node_selector ?? '',
  };
}

export function newTaskForm(name: string, specs: FieldSpec[]): TaskFormValues {
  return {
    name,
    label: '',
    args: initialFormValues(specs, {}),
    ...TASK_DEFAULTS,
    command: '',
    working_dir: '',
    volume_mount: '',
    node_selector: '',
  };
}

// The POST/PUT body of a task from its form values.
export function formToTaskBody(v: TaskFormValues, specs: FieldSpec[]): Record<string, unknown> {
  return {
    name: v.name.trim(),
    label: (v.label ?? '').trim(),
    args: formToArgs(specs, v.args),
    resource_cpu: (v.resource_cpu ?? '').trim() || TASK_DEFAULTS.resource_cpu,
    resource_memory: (v.resource_memory ?? '').trim() || TASK_DEFAULTS.resource_memory,
    resource_gpu: (v.resource_gpu ?? '').trim() || TASK_DEFAULTS.resource_gpu,
    timeout: v.timeout ?? 0,
    retry: v.retry ?? 0,
    skip: !!v.skip,
    command: v.command ?? '',
    working_dir: (v.working_dir ?? '').trim(),
    volume_mount: (v.volume_mount ?? '').trim(),
    node_selector: (v.node_selector ?? '').trim(),
  };
}

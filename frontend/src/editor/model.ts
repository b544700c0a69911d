// The rows the editor reads and writes (fcgi/res/res_pipeline.c, res_template.c, res_run.c)
// and the few requests that are not plain CRUD.
import { request, resource, type ListResult } from '../api';
import type { ArgSchema } from './argForm';
import type { DagJson } from './graph';

export interface Ref {
  id: number;
  name: string;
}

export interface Pipeline {
  id: number;
  project: Ref;
  name: string;
  describe: string;
  dag_json: DagJson;
  expand: unknown;
  global_env: string;
  schedule_type: 'once' | 'crontab';
  cron_time: string;
  cronjob_start_time: string | null;
  timezone: string;
  depends_on_past: boolean;
  max_active_runs: number;
  expired_limit: number;
  parallelism: number;
  alert_status: string;
  alert_user: string;
  parameter: unknown;
  created_by: { id: number; username: string } | null;
}

export interface Task {
  id: number;
  name: string;
  label: string;
  job_template: Ref;
  args: Record<string, unknown>;
  command: string;
  working_dir: string;
  volume_mount: string;
  node_selector: string;
  resource_cpu: string;
  resource_memory: string;
  resource_gpu: string;
  timeout: number;
  retry: number;
  skip: boolean;
  expand: unknown;
}

export interface Template {
  id: number;
  name: string;
  describe: string;
  version: string;
  project: Ref | null;
  args: ArgSchema | null;
  expand: { index?: number; help_url?: string } | null;
}

export interface Run {
  id: number;
  state: string;
}

export interface TaskInstance {
  id: number;
  task_id: number;
  task_key: string;
  state: string;
}

export const TASK_COLUMNS = [
  'id',
  'name',
  'label',
  'job_template',
  'args',
  'command',
  'working_dir',
  'volume_mount',
  'node_selector',
  'resource_cpu',
  'resource_memory',
  'resource_gpu',
  'timeout',
  'retry',
  'skip',
  'expand',
];

export const pipelineKey = (id: number | string) => ['pipeline', String(id)] as const;
export const tasksKey = (id: number | string) => ['pipeline-tasks', String(id)] as const;
export const templatesKey = ['editor-templates'] as const;

export function fetchPipeline(id: number | string): Promise<Pipeline> {
  return resource.show<Pipeline>('pipeline_modelview', id);
}

export function fetchTasks(pipelineId: number | string): Promise<Task[]> {
  return resource
    .list<Task>('task_modelview', {
      filters: [{ col: 'pipeline', opr: 'rel_o_m', value: Number(pipelineId) }],
      page_size: 2000,
      order_column: 'id',
      order_direction: 'asc',
      columns: TASK_COLUMNS,
    })
    .then((r) => r.data);
}

// Every template the caller may use, with its args schema (not a list column by default).
export function fetchTemplates(): Promise<Template[]> {
  return resource
    .list<Template>('job_template_modelview', {
      page_size: 2000,
      columns: ['id', 'name', 'describe', 'version', 'project', 'args', 'expand'],
    })
    .then((r) => r.data);
}

// The newest run of a pipeline and its task instances, for the state icons on the nodes.
export async function fetchLatestStates(pipelineId: number): Promise<{ run: Run | null; states: Record<string, string> }> {
  const runs = await resource.list<Run>('workflow_modelview', {
    filters: [{ col: 'pipeline', opr: 'rel_o_m', value: pipelineId }],
    page_size: 1,
    order_column: 'id',
    order_direction: 'desc',
    columns: ['id', 'state'],
  });
  const run = runs.data[0] ?? null;
  if (!run) return { run: null, states: {} };
  const inst = await resource.list<TaskInstance>('task_instance', {
    filters: [{ col: 'run', opr: 'rel_o_m', value: run.id }],
    page_size: 2000,
    columns: ['id', 'task_id', 'task_key', 'state'],
  });
  const states: Record<string, string> = {};
  for (const ti of inst.data) states[String(ti.task_id)] = ti.state;
  return { run, states };
}

// POST <id>/run answers the new run (a workflow_modelview row).
export function runPipeline(id: number | string): Promise<Run> {
  return request<Run>(`/api/pipeline_modelview/${id}/run`, { method: 'POST', body: {} });
}

export function exportPipeline(id: number | string): Promise<unknown> {
  return request<unknown>(`/api/pipeline_modelview/${id}/export`);
}

// An exported file holds the document itself, or (saved from the raw endpoint) the envelope
// around it; both are accepted.
export function exportDocument(parsed: unknown): Record<string, unknown> | null {
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const o = parsed as Record<string, unknown>;
  if (o.pipeline && Array.isArray(o.tasks)) return o;
  const inner = o.result;
  if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
    const r = inner as Record<string, unknown>;
    if (r.pipeline && Array.isArray(r.tasks)) return r;
  }
  return null;
}

export function importPipeline(project: number, document: Record<string, unknown>, name?: string): Promise<Pipeline> {
  return request<Pipeline>('/api/pipeline_modelview/import', {
    method: 'POST',
    body: name ? { project, name, document } : { project, document },
  });
}

// action copy answers {"copies": [name]}; the copy's id is looked up by name in the project.
export async function copyPipeline(p: Pick<Pipeline, 'id' | 'project'>): Promise<Pipeline | null> {
  const res = (await resource.action('pipeline_modelview', 'copy', p.id)) as { copies?: string[] };
  const name = res.copies?.[0];
  if (!name) return null;
  const found: ListResult<Pipeline> = await resource.list<Pipeline>('pipeline_modelview', {
    filters: [
      { col: 'name', opr: 'eq', value: name },
      { col: 'project', opr: 'rel_o_m', value: p.project.id },
    ],
    page_size: 1,
  });
  return found.data[0] ?? null;
}

export interface CronPreview {
  next: string[];
}
export function cronPreview(cron: string, tz: string, signal?: AbortSignal): Promise<CronPreview> {
  return request<CronPreview>('/api/pipeline_modelview/cron_preview', { query: { cron, tz, n: 5 }, signal });
}

// Team projects (type org): where pipelines live.
export function fetchOrgProjects(): Promise<Ref[]> {
  return resource
    .list<Ref>('project_modelview', {
      filters: [{ col: 'type', opr: 'eq', value: 'org' }],
      page_size: 2000,
      order_column: 'name',
      order_direction: 'asc',
      columns: ['id', 'name'],
    })
    .then((r) => r.data);
}

// Downloads JSON as a file, without a round trip through a new window.
export function downloadJson(doc: unknown, filename: string): void {
  const blob = new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

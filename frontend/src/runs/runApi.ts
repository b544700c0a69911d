// The run routes of fcgi/res/res_run.c that the generic resource helpers do not cover, and the
// shapes of the rows the run pages read.
import { request, resource, type Row } from '../api';

export const RUN_VIEW = 'workflow_modelview';
export const HISTORY_VIEW = 'runhistory_modelview';
export const TI_VIEW = 'task_instance';

export interface Ref {
  id: number;
  name?: string;
  username?: string;
  state?: string;
}

export interface RunRow {
  id: number;
  pipeline?: Ref | null;
  trigger?: string;
  cron_tick?: string | null;
  execution_date?: string;
  state?: string;
  reason?: string;
  tasks?: Record<string, number>;
  created_by?: Ref | null;
  dag_snapshot?: Snapshot;
  queued_at?: string;
  started_at?: string | null;
  finished_at?: string | null;
}

export interface SnapshotTask {
  upstream?: string[];
  template?: string;
  task_id?: number;
  skip?: boolean;
}
export interface Snapshot {
  order?: string[];
  tasks?: Record<string, SnapshotTask>;
  pipeline?: { id: number; name: string; project?: Ref };
}

export interface Attempt {
  try: number;
  state: string;
  exit_code: number | null;
  reason: string;
  started_at: string | null;
  finished_at: string | null;
  peak_rss_kb: number | null;
  cpu_seconds: number | null;
}

export interface TaskInstance {
  id: number;
  run?: Ref;
  task_key: string;
  task_id: number | null;
  state: string;
  try_number: number;
  max_tries: number;
  exit_code: number | null;
  reason: string;
  started_at: string | null;
  finished_at: string | null;
  next_retry_at?: string | null;
  peak_rss_kb: number | null;
  cpu_seconds: number | null;
  external_name?: string | null;
  attempts?: Attempt[];
}

export interface LogChunk {
  data: string;
  offset: number;
  next: number;
  eof: boolean;
  attempt: string | null;
}

// Everything a run row has but its snapshot, which is large and never changes: what the live
// header polls.
export const RUN_LIVE_COLUMNS = [
  'id',
  'pipeline',
  'trigger',
  'cron_tick',
  'execution_date',
  'state',
  'reason',
  'tasks',
  'created_by',
  'queued_at',
  'started_at',
  'finished_at',
];

export const runApi = {
  show: (id: number | string) => resource.show<RunRow>(RUN_VIEW, id),
  live: async (id: number | string): Promise<RunRow | null> => {
    const r = await resource.list<RunRow>(RUN_VIEW, {
      filters: [{ col: 'id', opr: 'eq', value: Number(id) }],
      columns: RUN_LIVE_COLUMNS,
      page_size: 1,
    });
    return r.data[0] ?? null;
  },
  stop: (id: number | string) => request<RunRow>(`/api/${RUN_VIEW}/${id}/stop`, { method: 'POST' }),
  rerun: (id: number | string) => request<RunRow>(`/api/${RUN_VIEW}/${id}/rerun`, { method: 'POST' }),
  tasks: async (runId: number | string): Promise<TaskInstance[]> => {
    const r = await resource.list<TaskInstance>(TI_VIEW, {
      filters: [{ col: 'run', opr: 'rel_o_m', value: Number(runId) }],
      page_size: 2000,
    });
    return r.data;
  },
  task: (id: number) => resource.show<TaskInstance>(TI_VIEW, id),
  clear: (id: number) => request<TaskInstance>(`/api/${TI_VIEW}/${id}/clear`, { method: 'POST' }),
  log: (id: number, offset: number, tryNumber: number | undefined, signal?: AbortSignal) =>
    request<LogChunk>(`/api/${TI_VIEW}/${id}/log`, { query: { offset, try: tryNumber }, signal }),
  logDownloadUrl: (id: number, tryNumber?: number) =>
    `/api/${TI_VIEW}/${id}/log/download${tryNumber ? `?try=${tryNumber}` : ''}`,
  backfill: (pipelineId: number, start: string, end: string) =>
    request<{ created: number; existing: number }>(`/api/pipeline_modelview/${pipelineId}/backfill`, {
      method: 'POST',
      body: { start, end },
    }),
};

export function asRow<T extends object>(r: Row): T {
  return r as unknown as T;
}

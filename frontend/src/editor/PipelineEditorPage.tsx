// The pipeline editor (/pipelines/:id): template palette | canvas | task panel, under a toolbar.
//
// Nodes are *uncontrolled* (defaultNodes): positions live in React Flow's own store, so
// dragging a node re-renders that node and the minimap, never this page; the page reads them
// through useReactFlow() when it saves or lays out. Edges are controlled (page state), because
// an uncontrolled flow adds an edge before onConnect could refuse a cycle. What is not saved yet
// is tracked in an EditorStore (store.ts).
//
// Saving: new tasks (dropped templates that need arguments before the server accepts them) are
// created, edited tasks are updated, then the pipeline's dag_json (by task name), the layout
// (expand, cube-studio's react-flow element list, by task id) and changed settings are written.
import '@xyflow/react/dist/style.css';
import './editor.css';
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { Link, useBlocker, useNavigate, useParams } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Background,
  Controls,
  MarkerType,
  MiniMap,
  Panel,
  ReactFlow,
  ReactFlowProvider,
  applyEdgeChanges,
  useReactFlow,
  useStore,
  type Connection,
  type Edge,
  type EdgeChange,
  type OnBeforeDelete,
  type OnSelectionChangeParams,
} from '@xyflow/react';
import { Alert, App, Badge, Button, Result, Space, Spin, Tag, Tooltip, Typography } from 'antd';
import {
  ArrowLeftOutlined,
  CaretRightOutlined,
  CopyOutlined,
  ExportOutlined,
  HistoryOutlined,
  NodeIndexOutlined,
  SaveOutlined,
  SettingOutlined,
} from '@ant-design/icons';
import { ApiError, resource } from '../api';
import { useT } from '../i18n';
import { isAdmin, useMe } from '../shell/session';
import { fieldSpecs, missingRequired } from './argForm';
import { cycleIfAdded, dagToEdges, edgeId, edgesToDag, uniqueTaskName } from './graph';
import { freeSpot, layoutPositions, type XY } from './layout';
import {
  copyPipeline,
  downloadJson,
  exportPipeline,
  fetchLatestStates,
  fetchPipeline,
  fetchTasks,
  fetchTemplates,
  pipelineKey,
  runPipeline,
  tasksKey,
  templatesKey,
  type Pipeline,
  type Run,
  type Task,
  type Template,
} from './model';
import { Palette, TEMPLATE_MIME } from './Palette';
import { SettingsDrawer } from './SettingsDrawer';
import { settingsDiff, type SettingsValues } from './settings';
import { EditorStore, useDirty } from './store';
import { formToTaskBody, newTaskForm, taskToForm, type TaskFormValues } from './taskForm';
import { NODE_HEIGHT, NODE_TYPE, NODE_WIDTH, nodeTypes, type TaskFlowNode } from './TaskNode';
import { TaskPanel, type Validator } from './TaskPanel';

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const ACTIVE_RUN = new Set(['queued', 'running', 'pending', 'scheduled']);
const defaultEdgeOptions = { markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 } };
const fitViewOptions = { padding: 0.2, maxZoom: 1 };

export default function PipelineEditorPage() {
  const { id = '' } = useParams();
  const t = useT();
  // gcTime 0: every visit starts from the server's current state, never from a stale cache.
  const pipelineQ = useQuery({ queryKey: pipelineKey(id), queryFn: () => fetchPipeline(id), gcTime: 0, staleTime: Infinity });
  const tasksQ = useQuery({ queryKey: tasksKey(id), queryFn: () => fetchTasks(id), gcTime: 0, staleTime: Infinity });
  const templatesQ = useQuery({ queryKey: templatesKey, queryFn: fetchTemplates, staleTime: 60_000 });

  const err = pipelineQ.error ?? tasksQ.error ?? templatesQ.error;
  if (err) {
    const notFound = err instanceof ApiError && err.httpStatus === 404;
    return (
      <Result
        status={notFound ? '404' : 'error'}
        title={notFound ? t('editor.notFound') : t('editor.loadFailed')}
        subTitle={errText(err)}
        extra={
          <Link to="/pipelines">
            <Button>{t('editor.backToList')}</Button>
          </Link>
        }
      />
    );
  }
  if (!pipelineQ.data || !tasksQ.data || !templatesQ.data) return <Spin style={{ display: 'block', margin: '64px auto' }} />;
  return (
    <ReactFlowProvider key={id}>
      <Editor initialPipeline={pipelineQ.data} initialTasks={tasksQ.data} templates={templatesQ.data} />
    </ReactFlowProvider>
  );
}

function storedPositions(expand: unknown): Map<string, XY> {
  const out = new Map<string, XY>();
  const list: unknown[] = Array.isArray(expand)
    ? expand
    : expand && typeof expand === 'object' && Array.isArray((expand as { nodes?: unknown }).nodes)
      ? (expand as { nodes: unknown[] }).nodes
      : [];
  for (const el of list) {
    if (!el || typeof el !== 'object') continue;
    const { id, position } = el as { id?: unknown; position?: { x?: unknown; y?: unknown } };
    if (id === undefined || !position || typeof position.x !== 'number' || typeof position.y !== 'number') continue;
    out.set(String(id), { x: position.x, y: position.y });
  }
  return out;
}

// The canvas at load: stored positions where there are any; tasks without one (created by the
// API, or dropped and not saved) are laid out by dagre, below the placed ones.
function initialGraph(p: Pipeline, tasks: Task[]): { nodes: TaskFlowNode[]; edges: Edge[] } {
  const idOfName = new Map(tasks.map((tk) => [tk.name, String(tk.id)]));
  const edges: Edge[] = dagToEdges(p.dag_json, idOfName).map((e) => ({ id: edgeId(e.source, e.target), ...e }));
  const stored = storedPositions(p.expand);
  const missing = tasks.filter((tk) => !stored.has(String(tk.id)));
  let placed = new Map<string, XY>();
  if (missing.length) {
    const auto = layoutPositions(
      tasks.map((tk) => ({ id: String(tk.id), width: NODE_WIDTH, height: NODE_HEIGHT })),
      edges,
    );
    const maxY = stored.size ? Math.max(...[...stored.values()].map((xy) => xy.y)) + NODE_HEIGHT + 80 : 0;
    placed = new Map(missing.map((tk) => {
      const a = auto.get(String(tk.id)) ?? { x: 0, y: 0 };
      return [String(tk.id), { x: a.x, y: a.y + maxY }];
    }));
  }
  const nodes: TaskFlowNode[] = tasks.map((tk) => ({
    id: String(tk.id),
    type: NODE_TYPE,
    position: stored.get(String(tk.id)) ?? placed.get(String(tk.id)) ?? { x: 0, y: 0 },
    data: { name: tk.name, label: tk.label ?? '', template: tk.job_template?.name ?? '' },
  }));
  return { nodes, edges };
}

// cube-studio's layout document: node elements then edge elements, ids are task ids.
function buildExpand(nodes: TaskFlowNode[], edges: Edge[], mapId: (id: string) => string) {
  return [
    ...nodes.map((n) => ({
      id: mapId(n.id),
      type: NODE_TYPE,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
      data: { name: n.data.name, label: n.data.label || n.data.name },
    })),
    ...edges.map((e) => ({ id: edgeId(mapId(e.source), mapId(e.target)), source: mapId(e.source), target: mapId(e.target) })),
  ];
}

function EmptyHint() {
  const t = useT();
  const empty = useStore((s) => s.nodes.length === 0);
  if (!empty) return null;
  return (
    // The hint must not swallow a drop aimed at the canvas under it.
    <Panel position="top-center" style={{ pointerEvents: 'none' }}>
      <Alert type="info" showIcon message={t('editor.emptyCanvas')} data-testid="editor-empty" />
    </Panel>
  );
}

function SaveButton({ store, saving, onSave }: { store: EditorStore; saving: boolean; onSave: () => void }) {
  const t = useT();
  const dirty = useDirty(store);
  return (
    <Badge dot={dirty} offset={[-4, 4]}>
      <Button
        type={dirty ? 'primary' : 'default'}
        icon={<SaveOutlined />}
        loading={saving}
        onClick={onSave}
        data-testid="editor-save"
        data-dirty={dirty ? 'true' : 'false'}
        title={dirty ? t('editor.unsaved') : t('editor.allSaved')}
      >
        {t('editor.save')}
      </Button>
    </Badge>
  );
}

function DirtyTag({ store }: { store: EditorStore }) {
  const t = useT();
  const dirty = useDirty(store);
  return dirty ? (
    <Tag color="orange" data-testid="editor-dirty">
      {t('editor.unsaved')}
    </Tag>
  ) : null;
}

interface EditorProps {
  initialPipeline: Pipeline;
  initialTasks: Task[];
  templates: Template[];
}

function Editor({ initialPipeline, initialTasks, templates }: EditorProps) {
  const t = useT();
  const { message, modal } = App.useApp();
  const nav = useNavigate();
  const qc = useQueryClient();
  const rf = useReactFlow<TaskFlowNode, Edge>();
  const me = useMe();

  const [store] = useState(() => new EditorStore());
  const [pipeline, setPipelineState] = useState(initialPipeline);
  const pipelineRef = useRef(pipeline);
  const setPipeline = useCallback((p: Pipeline) => {
    pipelineRef.current = p;
    setPipelineState(p);
  }, []);
  const tasksRef = useRef(new Map(initialTasks.map((tk) => [String(tk.id), tk])));
  const templatesById = useMemo(() => new Map(templates.map((tm) => [tm.id, tm])), [templates]);
  const [initial] = useState(() => initialGraph(initialPipeline, initialTasks));
  const [edges, setEdges] = useState<Edge[]>(initial.edges);
  const onEdgesChange = useCallback((changes: EdgeChange<Edge>[]) => setEdges((eds) => applyEdgeChanges(changes, eds)), []);
  const [selected, setSelected] = useState<string | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [saving, setSaving] = useState(false);
  const savingRef = useRef(false);
  const [running, setRunning] = useState(false);
  const [lastRun, setLastRun] = useState<Run | null>(null);
  const validatorRef = useRef<Validator | null>(null);
  const skipConfirmRef = useRef(false);
  const draftSeq = useRef(0);
  const canvasRef = useRef<HTMLDivElement>(null);

  const readOnly = !me.data || !(isAdmin(me.data) || pipeline.created_by?.id === me.data.id);
  const nameOf = useCallback((nodeId: string) => rf.getNode(nodeId)?.data.name ?? nodeId, [rf]);

  // ---- live task states (newest run) -----------------------------------------------------
  const statesQ = useQuery({
    queryKey: ['pipeline-states', pipeline.id],
    queryFn: () => fetchLatestStates(pipeline.id),
    refetchInterval: (q) => (q.state.data?.run && ACTIVE_RUN.has(q.state.data.run.state) ? 3000 : false),
    staleTime: 0,
  });
  useEffect(() => {
    const states = statesQ.data?.states;
    if (!states) return;
    rf.setNodes((nds) =>
      nds.map((n) => (n.data.state === states[n.id] ? n : { ...n, data: { ...n.data, state: states[n.id] } })),
    );
  }, [statesQ.data, rf]);

  // ---- unsaved-changes guard -----------------------------------------------------------------
  const blocker = useBlocker(({ currentLocation, nextLocation }) => store.isDirty() && currentLocation.pathname !== nextLocation.pathname);
  // The blocker object changes identity on re-renders (a state poll, say); only its state
  // opens the dialog, so one navigation asks once.
  const blockerRef = useRef(blocker);
  blockerRef.current = blocker;
  useEffect(() => {
    if (blocker.state !== 'blocked') return;
    modal.confirm({
      title: t('editor.leave.title'),
      content: t('editor.leave.body'),
      okText: t('editor.leave.ok'),
      okButtonProps: { danger: true },
      cancelText: t('editor.leave.stay'),
      onOk: () => {
        const b = blockerRef.current;
        if (b.state === 'blocked') b.proceed();
      },
      onCancel: () => {
        const b = blockerRef.current;
        if (b.state === 'blocked') b.reset();
      },
    });
  }, [blocker.state, modal, t]);
  useEffect(() => {
    const onUnload = (e: BeforeUnloadEvent) => {
      if (!store.isDirty()) return;
      e.preventDefault();
      e.returnValue = ''; // still needed by some browsers to show the prompt
    };
    window.addEventListener('beforeunload', onUnload);
    return () => window.removeEventListener('beforeunload', onUnload);
  }, [store]);

  // ---- selection -------------------------------------------------------------------------
  const selectOnly = useCallback(
    (nodeId: string) => {
      rf.setNodes((nds) => nds.map((n) => ((n.id === nodeId) === !!n.selected ? n : { ...n, selected: n.id === nodeId })));
      setSelected(nodeId);
    },
    [rf],
  );
  const onSelectionChange = useCallback(({ nodes }: OnSelectionChangeParams<TaskFlowNode, Edge>) => {
    setSelected(nodes.length === 1 ? nodes[0].id : null);
  }, []);

  // ---- adding tasks ------------------------------------------------------------------------
  const addTask = useCallback(
    async (tmpl: Template, at?: XY) => {
      if (readOnly) return;
      let position = at;
      if (!position) {
        // Keyboard add: the middle of the visible canvas (less the task panel that opens with the
        // new task, when it is not open yet), or below it where a node is in the way.
        const el = canvasRef.current;
        const r = el?.getBoundingClientRect();
        const panel = el && !el.parentElement?.querySelector('.cube-editor__panel') ? parseFloat(getComputedStyle(el).getPropertyValue('--cube-panel-width')) || 0 : 0;
        const c = rf.screenToFlowPosition({ x: (r?.left ?? 0) + Math.max(0, (r?.width ?? 0) - panel) / 2, y: (r?.top ?? 0) + (r?.height ?? 0) / 2 });
        const taken = rf.getNodes().map((n) => ({ ...n.position, width: n.measured?.width ?? NODE_WIDTH, height: n.measured?.height ?? NODE_HEIGHT }));
        position = freeSpot({ x: c.x - NODE_WIDTH / 2, y: c.y - NODE_HEIGHT / 2 }, taken, NODE_WIDTH, NODE_HEIGHT);
      }
      const specs = fieldSpecs(tmpl.args, t);
      const name = uniqueTaskName(tmpl.name, new Set(rf.getNodes().map((n) => n.data.name)));
      const missing = missingRequired(specs);
      const unselect = (nds: TaskFlowNode[]) => nds.map((n) => (n.selected ? { ...n, selected: false } : n));
      if (missing.length === 0) {
        // The server fills in the defaults: the task exists as soon as it is dropped.
        try {
          const task = await resource.create<Task>('task_modelview', { pipeline: pipelineRef.current.id, name, job_template: tmpl.id });
          const nodeId = String(task.id);
          tasksRef.current.set(nodeId, task);
          rf.setNodes((nds) => [
            ...unselect(nds),
            { id: nodeId, type: NODE_TYPE, position: position!, selected: true, data: { name: task.name, label: task.label ?? '', template: tmpl.name } },
          ]);
          setSelected(nodeId);
          store.markLayout();
        } catch (e) {
          message.error(t('editor.addFailed', { name, error: errText(e) }));
        }
        return;
      }
      // Required arguments without defaults: the server would refuse the task, so it stays a
      // draft here until they are filled in and saved.
      const nodeId = `draft-${++draftSeq.current}`;
      store.newTasks.set(nodeId, tmpl.id);
      store.setTaskDraft(nodeId, newTaskForm(name, specs));
      rf.setNodes((nds) => [
        ...unselect(nds),
        { id: nodeId, type: NODE_TYPE, position: position!, selected: true, data: { name, label: '', template: tmpl.name, draft: true } },
      ]);
      setSelected(nodeId);
      // One such note at a time (same key): a few drops in a row would stack them over the toolbar.
      message.info({ key: 'editor-fill-required', content: t('editor.fillRequired', { name, args: missing.join(', ') }) });
    },
    [readOnly, rf, t, store, message],
  );

  const onDragOver = useCallback((e: DragEvent<HTMLDivElement>) => {
    if (!e.dataTransfer.types.includes(TEMPLATE_MIME)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  }, []);
  const onDrop = useCallback(
    (e: DragEvent<HTMLDivElement>) => {
      const raw = e.dataTransfer.getData(TEMPLATE_MIME);
      if (!raw) return;
      e.preventDefault();
      const tmpl = templatesById.get(Number(raw));
      if (!tmpl) return;
      const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      void addTask(tmpl, { x: p.x - NODE_WIDTH / 2, y: p.y - NODE_HEIGHT / 2 });
    },
    [templatesById, rf, addTask],
  );

  // ---- edges -------------------------------------------------------------------------------
  const onConnect = useCallback(
    ({ source, target }: Connection) => {
      if (readOnly || !source || !target) return;
      const current = rf.getEdges();
      if (current.some((e) => e.source === source && e.target === target)) return;
      const cycle = cycleIfAdded(current, source, target);
      if (cycle) {
        message.error({ content: t('editor.cycle', { cycle: cycle.map(nameOf).join(' → ') }), key: 'cycle' });
        return;
      }
      setEdges((eds) => [...eds, { id: edgeId(source, target), source, target }]);
      store.markDag();
    },
    [readOnly, rf, nameOf, message, t, store],
  );

  // ---- deleting --------------------------------------------------------------------------------
  const onBeforeDelete = useCallback<OnBeforeDelete<TaskFlowNode, Edge>>(
    async ({ nodes, edges }) => {
      if (readOnly) return false;
      if (nodes.length === 0) return true;
      const skip = skipConfirmRef.current;
      skipConfirmRef.current = false;
      if (!skip) {
        const ok = await modal.confirm({
          title: nodes.length === 1 ? t('editor.deleteTask.title', { name: nodes[0].data.name }) : t('editor.deleteTasks.title', { n: nodes.length }),
          content: t('editor.deleteTask.body'),
          okText: t('editor.delete'),
          okButtonProps: { danger: true },
          cancelText: t('editor.cancel'),
        });
        if (!ok) return false;
      }
      const gone: TaskFlowNode[] = [];
      for (const n of nodes) {
        if (!store.newTasks.has(n.id)) {
          try {
            await resource.remove('task_modelview', n.id);
          } catch (e) {
            if (!(e instanceof ApiError && e.httpStatus === 404)) {
              message.error(t('editor.deleteFailed', { name: n.data.name, error: errText(e) }));
              break;
            }
          }
        }
        gone.push(n);
        tasksRef.current.delete(n.id);
        store.forget(n.id);
      }
      if (gone.length === nodes.length) return true;
      const ids = new Set(gone.map((n) => n.id));
      return { nodes: gone, edges: edges.filter((e) => ids.has(e.source) || ids.has(e.target)) };
    },
    [readOnly, modal, t, store, message],
  );
  const onDelete = useCallback(
    ({ nodes, edges }: { nodes: TaskFlowNode[]; edges: Edge[] }) => {
      const gone = new Set(nodes.map((n) => n.id));
      // Edges of a deleted task went with it on the server; any other edge is an unsaved change.
      if (edges.some((e) => !gone.has(e.source) && !gone.has(e.target))) store.markDag();
      setSelected((s) => (s && gone.has(s) ? null : s));
    },
    [store],
  );
  const deleteFromPanel = useCallback(
    (nodeId: string) => {
      skipConfirmRef.current = true; // the panel's own confirmation was given
      void rf.deleteElements({ nodes: [{ id: nodeId }] }).finally(() => {
        skipConfirmRef.current = false;
      });
    },
    [rf],
  );

  const onNodeDragStop = useCallback(() => store.markLayout(), [store]);

  // ---- layout ----------------------------------------------------------------------------------
  const autoLayout = useCallback(() => {
    const nodes = rf.getNodes();
    const pos = layoutPositions(
      nodes.map((n) => ({ id: n.id, width: n.measured?.width ?? NODE_WIDTH, height: n.measured?.height ?? NODE_HEIGHT })),
      rf.getEdges(),
    );
    rf.setNodes((nds) => nds.map((n) => ({ ...n, position: pos.get(n.id) ?? n.position })));
    if (nodes.length) store.markLayout();
    requestAnimationFrame(() => void rf.fitView({ ...fitViewOptions, duration: 300 }));
  }, [rf, store]);

  // ---- task panel ------------------------------------------------------------------------------
  const onTaskChange = useCallback(
    (nodeId: string, values: TaskFormValues) => {
      store.setTaskDraft(nodeId, values);
      const node = rf.getNode(nodeId);
      const name = (values.name ?? '').trim();
      const label = (values.label ?? '').trim();
      if (node && (node.data.name !== name || node.data.label !== label)) rf.updateNodeData(nodeId, { name, label });
    },
    [store, rf],
  );
  const isNameTaken = useCallback(
    (name: string, nodeId: string) => rf.getNodes().some((n) => n.id !== nodeId && n.data.name === name),
    [rf],
  );

  // ---- save --------------------------------------------------------------------------------------
  const save = useCallback(async (): Promise<boolean> => {
    if (savingRef.current || readOnly) return false;
    if (validatorRef.current && !(await validatorRef.current())) {
      message.error(t('editor.fixErrors'));
      return false;
    }
    savingRef.current = true;
    setSaving(true);
    // React Flow applies setNodes/setEdges on its next render, so ids of drafts created here are
    // translated by hand when the graph is written below.
    const idMap = new Map<string, string>();
    const mapId = (x: string) => idMap.get(x) ?? x;
    const failOn = (nodeId: string, e: unknown) => {
      message.error({ content: t('editor.saveTaskFailed', { name: nameOf(nodeId), error: errText(e) }), duration: 6 });
      selectOnly(mapId(nodeId));
    };
    try {
      for (const [nodeId, tmplId] of [...store.newTasks]) {
        const values = store.taskDrafts.get(nodeId);
        if (!values) continue;
        const specs = fieldSpecs(templatesById.get(tmplId)?.args, t);
        let task: Task;
        try {
          task = await resource.create<Task>('task_modelview', { pipeline: pipelineRef.current.id, job_template: tmplId, ...formToTaskBody(values, specs) });
        } catch (e) {
          failOn(nodeId, e);
          return false;
        }
        const realId = String(task.id);
        idMap.set(nodeId, realId);
        tasksRef.current.set(realId, task);
        store.rename(nodeId, realId);
        store.taskDrafts.delete(realId);
        store.touch();
        rf.setNodes((nds) =>
          nds.map((n) => (n.id === nodeId ? { ...n, id: realId, data: { ...n.data, name: task.name, label: task.label ?? '', draft: false } } : n)),
        );
        setEdges((eds) =>
          eds.map((e) =>
            e.source === nodeId || e.target === nodeId
              ? { ...e, source: mapId(e.source), target: mapId(e.target), id: edgeId(mapId(e.source), mapId(e.target)) }
              : e,
          ),
        );
        setSelected((s) => (s === nodeId ? realId : s));
      }
      for (const [nodeId, values] of [...store.taskDrafts]) {
        const task = tasksRef.current.get(nodeId);
        if (!task) {
          store.forget(nodeId);
          continue;
        }
        const tmpl = templatesById.get(task.job_template.id);
        const body = formToTaskBody(values, fieldSpecs(tmpl?.args, t));
        // A template this user cannot list (someone else's draft): its schema is unknown here,
        // so the stored args are left as they are rather than replaced by an empty form.
        if (!tmpl) delete body.args;
        try {
          const updated = await resource.update<Task>('task_modelview', nodeId, body);
          tasksRef.current.set(nodeId, { ...task, ...updated });
          store.taskDrafts.delete(nodeId);
          store.touch();
          rf.updateNodeData(nodeId, { name: updated.name, label: updated.label ?? '' });
        } catch (e) {
          failOn(nodeId, e);
          return false;
        }
      }
      const p = pipelineRef.current;
      const body: Record<string, unknown> = store.settingsDraft ? settingsDiff(p, store.settingsDraft) : {};
      if (store.dagDirty || store.layoutDirty || idMap.size > 0) {
        const nodes = rf.getNodes();
        const edges = rf.getEdges();
        const nameOfId = new Map<string, string>();
        for (const n of nodes) {
          const tk = tasksRef.current.get(mapId(n.id));
          if (tk) nameOfId.set(mapId(n.id), tk.name);
        }
        body.dag_json = edgesToDag(
          nameOfId,
          edges.map((e) => ({ source: mapId(e.source), target: mapId(e.target) })),
        );
        body.expand = buildExpand(
          nodes.map((n) => {
            const tk = tasksRef.current.get(mapId(n.id));
            return tk ? { ...n, data: { ...n.data, name: tk.name, label: tk.label ?? '' } } : n;
          }),
          edges,
          mapId,
        );
      }
      if (Object.keys(body).length) {
        try {
          const updated = await resource.update<Pipeline>('pipeline_modelview', p.id, body);
          setPipeline(updated);
          qc.setQueryData(pipelineKey(String(p.id)), updated);
        } catch (e) {
          message.error({ content: t('editor.savePipelineFailed', { error: errText(e) }), duration: 8 });
          if (store.settingsDraft && body.dag_json === undefined) setSettingsOpen(true);
          return false;
        }
      }
      store.dagDirty = false;
      store.layoutDirty = false;
      store.settingsDraft = null;
      store.touch();
      message.success({ content: t('editor.saved'), key: 'saved' });
      return true;
    } finally {
      savingRef.current = false;
      setSaving(false);
    }
  }, [readOnly, message, t, nameOf, selectOnly, store, templatesById, rf, qc, setPipeline]);

  // ---- toolbar actions --------------------------------------------------------------------------
  const run = useCallback(async () => {
    if (store.isDirty() && !(await save())) return;
    setRunning(true);
    try {
      const r = await runPipeline(pipelineRef.current.id);
      setLastRun(r);
      message.success({ content: t('editor.runStarted', { id: r.id }), key: 'run' });
      void qc.invalidateQueries({ queryKey: ['pipeline-states', pipelineRef.current.id] });
    } catch (e) {
      message.error(t('editor.runFailed', { error: errText(e) }));
    } finally {
      setRunning(false);
    }
  }, [store, save, message, t, qc]);

  const copy = useCallback(async () => {
    if (store.isDirty() && !(await save())) return;
    try {
      const c = await copyPipeline(pipelineRef.current);
      if (!c) return;
      message.success(t('editor.copied', { name: c.name }));
      nav(`/pipelines/${c.id}`);
    } catch (e) {
      message.error(t('editor.copyFailed', { error: errText(e) }));
    }
  }, [store, save, message, t, nav]);

  const doExport = useCallback(async () => {
    try {
      if (store.isDirty()) message.warning(t('editor.exportUnsaved'));
      const doc = await exportPipeline(pipelineRef.current.id);
      downloadJson(doc, `${pipelineRef.current.name}.json`);
    } catch (e) {
      message.error(t('editor.exportFailed', { error: errText(e) }));
    }
  }, [store, message, t]);

  const onSettingsChange = useCallback((v: SettingsValues) => store.setSettings(v), [store]);

  // ---- render ---------------------------------------------------------------------------------------
  const selTask = selected ? tasksRef.current.get(selected) : undefined;
  const selTmplId = selected ? (store.newTasks.get(selected) ?? selTask?.job_template.id) : undefined;
  const selTemplate = selTmplId !== undefined ? templatesById.get(selTmplId) : undefined;
  const panelInitial = useMemo(() => {
    if (!selected) return null;
    const draft = store.taskDrafts.get(selected);
    if (draft) return draft;
    const specs = fieldSpecs(selTemplate?.args, t);
    return selTask ? taskToForm(selTask, specs) : null;
    // The draft is read when the panel opens on a node (or the node's id changes on save), not
    // on every keystroke: the open form holds the values meanwhile.
  }, [selected, selTask, selTemplate, t, store]);

  return (
    <div className="cube-editor" data-testid="pipeline-editor">
      <div className="cube-editor__toolbar" role="toolbar" aria-label={t('editor.toolbar')}>
        <div className="cube-editor__title">
          <Tooltip title={t('editor.backToList')}>
            <Link to="/pipelines" aria-label={t('editor.backToList')}>
              <ArrowLeftOutlined />
            </Link>
          </Tooltip>
          <Typography.Title level={4} style={{ margin: 0, whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis' }} data-testid="editor-title">
            {pipeline.name}
          </Typography.Title>
          <Tag>{pipeline.project.name}</Tag>
          {pipeline.schedule_type === 'crontab' && pipeline.cron_time && (
            <Tag color="blue" className="cube-mono">
              {pipeline.cron_time} {pipeline.timezone}
            </Tag>
          )}
          {readOnly && <Tag color="default">{t('editor.readOnly')}</Tag>}
          <DirtyTag store={store} />
        </div>
        <Space wrap size={6}>
          {!readOnly && <SaveButton store={store} saving={saving} onSave={() => void save()} />}
          {!readOnly && (
            <Button icon={<CaretRightOutlined />} loading={running} onClick={() => void run()} data-testid="editor-run">
              {t('editor.run')}
            </Button>
          )}
          {lastRun && (
            <Link to={`/runs/${lastRun.id}`} data-testid="editor-last-run">
              {t('editor.openRun', { id: lastRun.id })}
            </Link>
          )}
          <Button icon={<NodeIndexOutlined />} onClick={autoLayout} disabled={readOnly} data-testid="editor-layout">
            {t('editor.layout')}
          </Button>
          <Button icon={<SettingOutlined />} onClick={() => setSettingsOpen(true)} data-testid="editor-settings">
            {t('editor.settings')}
          </Button>
          <Button icon={<HistoryOutlined />} onClick={() => nav(`/runs?pipeline=${pipeline.id}`)} data-testid="editor-runs">
            {t('editor.runs')}
          </Button>
          <Tooltip title={t('editor.copy')}>
            <Button icon={<CopyOutlined />} onClick={() => void copy()} aria-label={t('editor.copy')} data-testid="editor-copy" />
          </Tooltip>
          <Tooltip title={t('editor.export')}>
            <Button icon={<ExportOutlined />} onClick={() => void doExport()} aria-label={t('editor.export')} data-testid="editor-export" />
          </Tooltip>
        </Space>
      </div>
      <div className="cube-editor__body">
        <Palette templates={templates} disabled={readOnly} onAdd={addTask} />
        <div className="cube-editor__canvas" ref={canvasRef} onDragOver={onDragOver} onDrop={onDrop} data-testid="editor-canvas">
          <ReactFlow<TaskFlowNode, Edge>
            defaultNodes={initial.nodes}
            edges={edges}
            onEdgesChange={onEdgesChange}
            nodeTypes={nodeTypes}
            defaultEdgeOptions={defaultEdgeOptions}
            onConnect={onConnect}
            onBeforeDelete={onBeforeDelete}
            onDelete={onDelete}
            onNodeDragStop={onNodeDragStop}
            onSelectionChange={onSelectionChange}
            nodesDraggable={!readOnly}
            nodesConnectable={!readOnly}
            deleteKeyCode={readOnly ? null : ['Delete', 'Backspace']}
            // Only a loaded graph is fitted: on an empty canvas React Flow would fit the view to
            // the first dropped node and move it under the cursor's feet.
            fitView={initial.nodes.length > 0}
            fitViewOptions={fitViewOptions}
            minZoom={0.05}
          >
            <Background gap={16} />
            <MiniMap pannable zoomable ariaLabel={t('editor.minimap')} />
            <Controls />
            <EmptyHint />
          </ReactFlow>
        </div>
        {selected && panelInitial && (
          <TaskPanel
            key={selected}
            nodeId={selected}
            task={selTask}
            template={selTemplate}
            initial={panelInitial}
            readOnly={readOnly}
            isNameTaken={isNameTaken}
            onChange={onTaskChange}
            onDelete={deleteFromPanel}
            onClose={() => {
              rf.setNodes((nds) => nds.map((n) => (n.selected ? { ...n, selected: false } : n)));
              setSelected(null);
            }}
            onSave={() => void save()}
            validatorRef={validatorRef}
          />
        )}
      </div>
      <SettingsDrawer
        open={settingsOpen}
        pipeline={pipeline}
        draft={store.settingsDraft}
        readOnly={readOnly}
        saving={saving}
        onChange={onSettingsChange}
        onClose={() => setSettingsOpen(false)}
        onSave={save}
      />
    </div>
  );
}

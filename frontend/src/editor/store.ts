// What the editor has not saved yet. Kept outside React state so that typing in a form or
// dragging a node does not re-render the page: components that show the dirty state subscribe
// (useSyncExternalStore), and only a clean <-> dirty change notifies them.
import { useSyncExternalStore } from 'react';
import type { SettingsValues } from './settings';
import type { TaskFormValues } from './taskForm';

export class EditorStore {
  // Edited form values per node id (a task id, or a draft's id).
  readonly taskDrafts = new Map<string, TaskFormValues>();
  // Nodes whose task does not exist on the server yet (created on Save), with their template.
  readonly newTasks = new Map<string, number>();
  dagDirty = false;
  layoutDirty = false;
  settingsDraft: SettingsValues | null = null;

  private listeners = new Set<() => void>();
  private dirty = false;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  isDirty = (): boolean => this.dirty;

  // Recomputes the flag after any change; listeners hear only when it flips.
  touch(): void {
    const now =
      this.taskDrafts.size > 0 || this.newTasks.size > 0 || this.dagDirty || this.layoutDirty || this.settingsDraft !== null;
    if (now !== this.dirty) {
      this.dirty = now;
      for (const fn of this.listeners) fn();
    }
  }

  setTaskDraft(id: string, values: TaskFormValues): void {
    this.taskDrafts.set(id, values);
    this.touch();
  }

  markDag(): void {
    this.dagDirty = true;
    this.touch();
  }

  markLayout(): void {
    this.layoutDirty = true;
    this.touch();
  }

  setSettings(values: SettingsValues | null): void {
    this.settingsDraft = values;
    this.touch();
  }

  forget(id: string): void {
    this.taskDrafts.delete(id);
    this.newTasks.delete(id);
    this.touch();
  }

  // After a draft task was created: its edits now belong to the real id.
  rename(from: string, to: string): void {
    const d = this.taskDrafts.get(from);
    this.taskDrafts.delete(from);
    this.newTasks.delete(from);
    if (d) this.taskDrafts.set(to, d);
    this.touch();
  }
}

export function useDirty(store: EditorStore): boolean {
  return useSyncExternalStore(store.subscribe, store.isDirty);
}

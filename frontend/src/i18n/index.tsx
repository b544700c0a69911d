// English and Chinese. Each area of the app keeps its own message file (shell.ts, generic.ts,
// editor.ts, runs.ts) so that areas grow without touching one shared dictionary; keys are
// prefixed with the area. A missing Chinese message falls back to English, a missing English
// one to the key itself, so a gap shows up on screen rather than as an empty label.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import shell from './shell';
import generic from './generic';
import editor from './editor';
import runs from './runs';

export type Lang = 'en' | 'zh';
export type Messages = Record<string, string>;
export interface AreaMessages {
  en: Messages;
  zh: Messages;
}

const areas: AreaMessages[] = [shell, generic, editor, runs];
const catalog: Record<Lang, Messages> = {
  en: Object.assign({}, ...areas.map((a) => a.en)),
  zh: Object.assign({}, ...areas.map((a) => a.zh)),
};

// `{name}` placeholders are filled from vars.
export function translate(lang: Lang, key: string, vars?: Record<string, string | number>): string {
  let s = catalog[lang][key] ?? catalog.en[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

const STORAGE_KEY = 'cube.lang';
function initialLang(): Lang {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem(STORAGE_KEY) : null;
  if (saved === 'en' || saved === 'zh') return saved;
  return typeof navigator !== 'undefined' && navigator.language?.startsWith('zh') ? 'zh' : 'en';
}

interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: (key: string, vars?: Record<string, string | number>) => string;
}
const Ctx = createContext<I18n>({ lang: 'en', setLang: () => {}, t: (k, v) => translate('en', k, v) });

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = useCallback((l: Lang) => {
    localStorage.setItem(STORAGE_KEY, l);
    setLangState(l);
  }, []);
  const value = useMemo<I18n>(() => ({ lang, setLang, t: (k, v) => translate(lang, k, v) }), [lang, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  return useContext(Ctx);
}
export function useT(): I18n['t'] {
  return useContext(Ctx).t;
}

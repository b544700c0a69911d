// A run's or a task's state as a coloured tag. The text is the state's name in English (what
// the API says, what an e2e test reads), translated in other languages; data-state always
// carries the raw value.
import { Tag } from 'antd';
import { SyncOutlined } from '@ant-design/icons';
import { useT } from '../i18n';
import { stateLook } from './states';

export function useStateLabel(): (state: unknown) => string {
  const t = useT();
  return (state) => {
    const s = typeof state === 'string' ? state : '';
    if (!s) return '';
    const key = `runs.state.${s}`;
    const label = t(key);
    return label === key ? s : label;
  };
}

export function StateTag({ state, testId }: { state: unknown; testId?: string }) {
  const label = useStateLabel();
  const look = stateLook(state);
  if (typeof state !== 'string' || !state) return null;
  return (
    <Tag
      color={look.tag}
      icon={look.spin ? <SyncOutlined spin /> : undefined}
      data-testid={testId}
      data-state={state}
      style={look.dashed ? { borderStyle: 'dashed', color: look.fg } : undefined}
    >
      {label(state)}
    </Tag>
  );
}

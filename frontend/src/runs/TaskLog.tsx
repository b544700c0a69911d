// The live log of one attempt: a monospace pane that follows the end while the reader is at
// the bottom (scrolling up pauses following, scrolling back down resumes it), polls while the
// attempt runs and stops at its end. Mount it with a key per (task instance, try).
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Alert, Button, Space, Switch, Typography } from 'antd';
import { DownloadOutlined, LoadingOutlined } from '@ant-design/icons';
import { useT } from '../i18n';
import { LogBuffer } from './logBuffer';
import { tailLog, type TailStatus } from './logTail';
import { runApi } from './runApi';

export interface TaskLogProps {
  taskInstanceId: number;
  tryNumber: number;
  // The attempt has ended (by the task instance's state), see tailLog.
  attemptDone: boolean;
  height?: number | string;
}

const AT_BOTTOM_PX = 24;

export function TaskLog({ taskInstanceId, tryNumber, attemptDone, height = 420 }: TaskLogProps) {
  const t = useT();
  const bufRef = useRef(new LogBuffer());
  const paneRef = useRef<HTMLPreElement>(null);
  const followRef = useRef(true);
  const doneRef = useRef(attemptDone);
  doneRef.current = attemptDone;
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<TailStatus>('loading');
  const [error, setError] = useState<string | null>(null);
  const [follow, setFollowState] = useState(true);
  const [restart, setRestart] = useState(0);

  const setFollow = (v: boolean) => {
    followRef.current = v;
    setFollowState(v);
  };

  useEffect(() => {
    const ac = new AbortController();
    bufRef.current = new LogBuffer();
    setVersion((v) => v + 1);
    setError(null);
    let timer: ReturnType<typeof setTimeout> | undefined;
    void tailLog({
      fetch: (offset) => runApi.log(taskInstanceId, offset, tryNumber, ac.signal),
      buffer: bufRef.current,
      onUpdate: () => setVersion((v) => v + 1),
      onStatus: (s, err) => {
        setStatus(s);
        setError(s === 'error' ? (err ?? '') : null);
      },
      sleep: (ms) =>
        new Promise((resolve) => {
          timer = setTimeout(resolve, ms);
        }),
      stopped: () => ac.signal.aborted,
      attemptDone: () => doneRef.current,
    });
    return () => {
      ac.abort();
      if (timer) clearTimeout(timer);
    };
  }, [taskInstanceId, tryNumber, restart]);

  useLayoutEffect(() => {
    const el = paneRef.current;
    if (el && followRef.current) el.scrollTop = el.scrollHeight;
  }, [version]);

  const onScroll = () => {
    const el = paneRef.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < AT_BOTTOM_PX;
    if (atBottom !== followRef.current) setFollow(atBottom);
  };

  const toggleFollow = (v: boolean) => {
    setFollow(v);
    const el = paneRef.current;
    if (v && el) el.scrollTop = el.scrollHeight;
  };

  const buf = bufRef.current;
  // The buffer mutates in place; `version` marks each change, so the join runs once per chunk
  // rather than on every render of the drawer around it.
  const text = useMemo(() => buf.text(), [buf, version]);
  const empty = buf.isEmpty();
  let statusText: ReactNode;
  if (status === 'loading') statusText = <><LoadingOutlined /> {t('runs.log.loading')}</>;
  else if (status === 'following') statusText = <><LoadingOutlined /> {t('runs.log.following')}</>;
  else if (status === 'done') statusText = t('runs.log.end');
  else statusText = null;

  return (
    <div>
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 8 }} wrap>
        <Typography.Text type="secondary" data-testid="task-log-status" data-status={status}>
          {statusText}
        </Typography.Text>
        <Space>
          <label style={{ display: 'inline-flex', alignItems: 'center', gap: 6 }}>
            <Switch size="small" checked={follow} onChange={toggleFollow} />
            {t('runs.log.follow')}
          </label>
          <Button
            size="small"
            icon={<DownloadOutlined />}
            href={runApi.logDownloadUrl(taskInstanceId, tryNumber)}
            download
            data-testid="task-log-download"
          >
            {t('runs.log.download')}
          </Button>
        </Space>
      </Space>
      {error !== null && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 8 }}
          message={t('runs.log.error', { message: error })}
          action={
            status === 'error' && attemptDone ? (
              <Button size="small" onClick={() => setRestart((r) => r + 1)}>
                {t('runs.log.retry')}
              </Button>
            ) : undefined
          }
        />
      )}
      {(buf.dropped > 0 || buf.skippedBytes > 0) && (
        <Typography.Text type="secondary" style={{ display: 'block', marginBottom: 4, fontSize: 12 }} data-testid="task-log-truncated">
          {t('runs.log.truncated', { n: buf.lineCount() })}
        </Typography.Text>
      )}
      <pre
        ref={paneRef}
        onScroll={onScroll}
        data-testid="task-log"
        tabIndex={0}
        aria-label={t('runs.log.label')}
        style={{
          height,
          margin: 0,
          overflow: 'auto',
          background: '#141414',
          color: '#e8e8e8',
          padding: '8px 12px',
          borderRadius: 6,
          fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace",
          fontSize: 12,
          lineHeight: 1.5,
          whiteSpace: 'pre-wrap',
          wordBreak: 'break-all',
        }}
      >
        {empty ? (
          <span style={{ color: '#8c8c8c' }}>{status === 'done' ? t('runs.log.empty') : t('runs.log.waiting')}</span>
        ) : (
          text
        )}
      </pre>
    </div>
  );
}

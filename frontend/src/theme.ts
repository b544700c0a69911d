// The antd theme of the whole app. One object, read by the app's ConfigProvider and by the
// build, which renders antd's styles for this theme ahead of time (tools/antdCss.ts): both
// must see the same tokens, or the styles made ahead of time are not the ones asked for.
import type { ThemeConfig } from 'antd';

export const theme: ThemeConfig = { token: { colorPrimary: '#1677ff' } };

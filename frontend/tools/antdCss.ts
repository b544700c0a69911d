// antd 5 writes its styles at run time: the first render of each component computes its style
// objects, serialises them and inserts a <style>. On the first load of a list page that is a
// third of the main thread's work. This Vite plugin renders the components the app uses once
// at build time (react-dom/server into a @ant-design/cssinjs cache, with the app's theme),
// writes what they registered to assets/antd-<hash>.css and links it from index.html. The file
// ends with the map of what it holds, which the runtime reads before generating a style: a
// component found there is not styled again. One rendered here with props the app does not
// use, or never rendered here, is still styled at run time, as before: this file only saves
// work, it cannot leave a component unstyled.
import { createHash } from 'node:crypto';
import type { Plugin } from 'vite';

async function renderStyles(): Promise<string> {
  // Loaded when the build runs, not when the config is read by vitest or the dev server.
  const React = (await import('react')).default;
  const { renderToString } = await import('react-dom/server');
  const { createCache, extractStyle, StyleProvider } = await import('@ant-design/cssinjs');
  const antd = await import('antd');
  const { theme } = await import('../src/theme');
  const h = React.createElement;
  const {
    Alert, App, Badge, Breadcrumb, Button, Card, Checkbox, Col, Collapse, ConfigProvider, DatePicker, Descriptions,
    Divider, Dropdown, Empty, Form, Input, InputNumber, Layout, List, Menu, Pagination, Popconfirm, Radio, Result, Row,
    Segmented, Select, Skeleton, Space, Spin, Switch, Table, Tabs, Tag, Tooltip, Typography, Upload,
  } = antd;
  const columns = [
    { title: 'Name', dataIndex: 'name', key: 'name', sorter: true },
    { title: 'Type', dataIndex: 'type', key: 'type' },
  ];
  const rows = [{ key: 1, name: 'a', type: 'b' }];
  const tree = h(
    App,
    null,
    h(
      Layout,
      null,
      h(Layout.Sider, { theme: 'light' }, h(Menu, { mode: 'inline', items: [{ key: 'g', label: 'g', children: [{ key: 'i', label: 'i' }] }] })),
      h(
        Layout,
        null,
        h(Layout.Header, null, h(Space, null, h(Badge, { count: 1, size: 'small' }, 'b'), h(Dropdown, { menu: { items: [] } }, h(Button, { type: 'text' }, 'u')))),
        h(
          Layout.Content,
          null,
          h(Typography.Title, { level: 4 }, 't'),
          h(Typography.Text, { type: 'secondary' }, 't'),
          h(Typography.Link, null, 'l'),
          h(Typography.Paragraph, null, 'p'),
          ...['primary', 'default', 'link', 'text', 'dashed'].map((type) => h(Button, { key: type, type: type as 'primary' }, type)),
          h(Button, { danger: true, size: 'small' }, 'd'),
          // A compact group (the filter bar's rows, the import buttons): antd styles its items
          // only when they are in one.
          h(Space.Compact, null, h(Select, { options: [] }), h(Input, null), h(Button, null, 'c')),
          h(Spin, null),
          h(Table, { columns, dataSource: rows, rowSelection: {}, pagination: { showSizeChanger: true, total: 100 }, size: 'small' }),
          h(Table, { columns, dataSource: [], loading: true }),
          h(Pagination, { total: 100, showSizeChanger: true }),
          h(
            Form,
            { layout: 'vertical' },
            h(Form.Item, { label: 'x', required: true, help: 'h', validateStatus: 'error' }, h(Input, null)),
            h(Form.Item, { label: 'y' }, h(Select, { options: [{ value: 1, label: 'a' }] })),
            h(Form.Item, { label: 'z' }, h(InputNumber, null)),
          ),
          h(Input.Search, null),
          h(Input.TextArea, null),
          h(Input.Password, null),
          h(Select, { mode: 'multiple', value: [1], options: [{ value: 1, label: 'a' }] }),
          h(Checkbox, null, 'c'),
          h(Radio.Group, { optionType: 'button', options: ['a', 'b'] }),
          h(Switch, null),
          h(Segmented, { options: ['a', 'b'] }),
          h(DatePicker, null),
          ...['success', 'info', 'warning', 'error'].map((type) => h(Alert, { key: type, type: type as 'info', showIcon: true, message: 'm' })),
          h(Tag, { color: 'blue' }, 't'),
          h(Card, { title: 't', size: 'small' }, 'c'),
          h(Row, { gutter: 8 }, h(Col, { span: 12 }, 'c')),
          h(Divider, null),
          h(Empty, null),
          h(Descriptions, { items: [{ key: 'a', label: 'a', children: 'b' }], bordered: true, size: 'small' }),
          h(Skeleton, { active: true }),
          h(Result, { status: 'warning', title: 't' }),
          h(Tabs, { items: [{ key: 'a', label: 'a', children: 'a' }] }),
          h(Breadcrumb, { items: [{ title: 'a' }, { title: 'b' }] }),
          h(Collapse, { items: [{ key: 'a', label: 'a', children: 'a' }] }),
          h(List, { dataSource: ['a'], renderItem: (x: unknown) => h(List.Item, null, String(x)) }),
          h(Tooltip, { title: 't' }, h('span', null, 't')),
          h(Popconfirm, { title: 't' }, h('span', null, 'p')),
          h(Upload.Dragger, null, 'u'),
        ),
      ),
    ),
  );
  const cache = createCache();
  renderToString(h(StyleProvider, { cache }, h(ConfigProvider, { theme }, tree)));
  return extractStyle(cache, { plain: true });
}

export function antdCss(): Plugin {
  let base = '/';
  let fileName = '';
  return {
    name: 'cube-antd-css',
    apply: 'build',
    configResolved(config) {
      base = config.base;
    },
    async buildStart() {
      // The class names and cache keys depend on the production build's hash prefix, which
      // antd reads from NODE_ENV (vite build sets it; a script calling build() may not).
      process.env.NODE_ENV = 'production';
      const css = await renderStyles();
      fileName = `assets/antd-${createHash('sha256').update(css).digest('hex').slice(0, 10)}.css`;
      this.emitFile({ type: 'asset', fileName, source: css });
    },
    transformIndexHtml: {
      order: 'post',
      // First in the head after the character set (which belongs in its first 1024 bytes).
      handler: (html) => {
        const link = `<link rel="stylesheet" href="${base}${fileName}">`;
        const charset = /<meta charset=[^>]*>/i;
        return charset.test(html) ? html.replace(charset, (m) => `${m}\n    ${link}`) : html.replace(/<head>/, `<head>\n    ${link}`);
      },
    },
  };
}

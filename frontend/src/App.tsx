// The root: data cache, language, antd theme and locale, and the router.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App as AntApp, ConfigProvider } from 'antd';
// The ES module builds: the CommonJS ones reach a production build as {__esModule, default},
// and antd's own texts (pagination, sorting, dialogs) were then never translated.
import enUS from 'antd/es/locale/en_US';
import zhCN from 'antd/es/locale/zh_CN';
import { RouterProvider } from 'react-router';
import { I18nProvider, useI18n } from './i18n';
import { ApiError } from './api';
import { router, warmStart } from './routes';
import { LiteProvider } from './generic/lite';
import { fetchMe, meKey } from './shell/session';
import { theme } from './theme';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      refetchOnWindowFocus: false,
      // A 4xx will not get better by asking again.
      retry: (n, err) => !(err instanceof ApiError && err.httpStatus >= 400 && err.httpStatus < 500) && n < 2,
    },
  },
});

// Who is signed in is the first thing every page needs, and the page's chunk and data the
// next: ask for them now, not one after the other after renders.
//
// The first render waits for all of it (main.tsx), up to FIRST_SCREEN_WAIT. Rendered as each
// came in, the frame was rendered three times on a cold load (without the user and the menu,
// with them, then around the page once its chunk was in), each a pass over the tree with its
// commit and paint, and the page waited behind them; rendered once everything is in, it is one
// pass. Until then the main thread is busy starting the app's code and compiling the page's.
const FIRST_SCREEN_WAIT = 1500;
const asked: Promise<unknown>[] = [];
if (!window.location.pathname.endsWith('/login')) {
  asked.push(queryClient.prefetchQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 60_000 }));
  asked.push(...warmStart(queryClient));
}
export const firstScreen: Promise<unknown> = Promise.race([
  Promise.allSettled(asked),
  new Promise((resolve) => setTimeout(resolve, FIRST_SCREEN_WAIT)),
]);

function Themed() {
  const { lang } = useI18n();
  return (
    <ConfigProvider locale={lang === 'zh' ? zhCN : enUS} theme={theme}>
      <AntApp>
        <LiteProvider>
          <RouterProvider router={router} />
        </LiteProvider>
      </AntApp>
    </ConfigProvider>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <I18nProvider>
        <Themed />
      </I18nProvider>
    </QueryClientProvider>
  );
}

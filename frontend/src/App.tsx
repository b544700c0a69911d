// The root: data cache, language, antd theme and locale, and the router.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { RouterProvider } from 'react-router';
import { I18nProvider, useI18n } from './i18n';
import { ApiError } from './api';
import { router, warmStart } from './routes';
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
if (!window.location.pathname.endsWith('/login')) {
  void queryClient.prefetchQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 60_000 });
  warmStart(queryClient);
}

function Themed() {
  const { lang } = useI18n();
  return (
    <ConfigProvider locale={lang === 'zh' ? zhCN : enUS} theme={theme}>
      <AntApp>
        <RouterProvider router={router} />
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

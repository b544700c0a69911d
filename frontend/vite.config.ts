import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { antdCss } from './tools/antdCss';
import { firstLoad } from './tools/firstLoad';
import { precompress } from './tools/precompress';

// The SPA lives under /frontend/ (nginx serves frontend/dist there); the API is same-origin.
// `npm run dev` proxies to a running stack; CUBE_DEV_API picks which one.
export default defineConfig({
  base: '/frontend/',
  plugins: [react(), antdCss(), firstLoad(), precompress()],
  server: {
    proxy: {
      '/api': process.env.CUBE_DEV_API ?? 'http://127.0.0.1:8080',
      '/myapp': process.env.CUBE_DEV_API ?? 'http://127.0.0.1:8080',
    },
  },
  build: {
    // The main chunk carries React, antd and the router; the editor and charts are lazy chunks.
    chunkSizeWarningLimit: 1200,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'tools/**/*.test.ts'],
  },
});

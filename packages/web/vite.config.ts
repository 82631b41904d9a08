// SvelteKit 3 takes its configuration here (svelte.config.js is gone). The UI is a static SPA:
// adapter-static writes build/, whose index.html is the fallback the server answers for every
// path that is not /api, /ws or /mcp (packages/server/src/http/static-ui.ts).
import adapter from '@sveltejs/adapter-static';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// `npm run dev` proxies the API to a running reach-server (default port 8765, see
// packages/server/src/config/server-options.ts). The server refuses a cookie-carrying mutation or
// WebSocket upgrade whose Origin is not its own, so the proxy presents the server's origin (and Host).
const target = process.env.REACH_URL ?? 'http://127.0.0.1:8765';
const proxied = { target, changeOrigin: true, headers: { origin: new URL(target).origin } };

export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter({
        pages: 'build',
        assets: 'build',
        fallback: 'index.html',
        precompress: true,
        strict: true,
      }),
    }),
  ],
  server: {
    proxy: {
      '/api': { ...proxied, ws: true },
      '/ws': { ...proxied, ws: true },
      '/mcp': proxied,
    },
  },
  build: { chunkSizeWarningLimit: 400 },
});

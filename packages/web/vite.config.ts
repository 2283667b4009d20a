import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// In development Vite serves the console and proxies the API to a running `npm start`
// (MIMIR_DEV_API, default https://127.0.0.1:8080; its certificate comes from Mimir's own CA, hence secure: false).
const api = process.env['MIMIR_DEV_API'] ?? 'https://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  // api-contract is consumed from its TypeScript sources, like the server's tests do.
  resolve: { conditions: ['mimir-source'] },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { '/api': { target: api, secure: false, changeOrigin: false } } },
});

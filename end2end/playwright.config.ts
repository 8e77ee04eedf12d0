import { defineConfig, devices } from '@playwright/test';

/**
 * Telehealth browser end-to-end tests.
 *
 * The server is NOT started from here: `cargo leptos end-to-end` (or our CI
 * script) starts it and then runs `npx playwright test` in this directory.
 * Against an already running server: `BASE_URL=http://host:port npx playwright test`.
 *
 * Browsers are never downloaded: we drive Debian's Chromium
 * (/usr/bin/chromium, override with CHROMIUM_PATH).
 */
export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  // One browser at a time: on the 2-core machines this runs on, Chromium (two
  // contexts with fake video in the room story), the debug server and
  // PostgreSQL already share the cores; a second worker starved them into
  // timeouts. E2E_WORKERS overrides it on bigger machines.
  workers: Number(process.env.E2E_WORKERS ?? 1),
  // No retries: a flaky test must show up as a failure, not be hidden.
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI
    ? [['list']]
    : [['list'], ['html', { open: 'never' }]],
  use: {
    baseURL: process.env.BASE_URL ?? 'http://127.0.0.1:3000',
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            '--headless=new',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--use-fake-ui-for-media-stream',
            '--use-fake-device-for-media-stream',
          ],
        },
      },
    },
  ],
});

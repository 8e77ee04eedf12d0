import AxeBuilder from '@axe-core/playwright';
import {
  test as base,
  expect,
  type BrowserContext,
  type Page,
} from '@playwright/test';

/**
 * A console error or uncaught exception seen in a page during a test.
 */
export type BrowserError = {
  kind: 'console.error' | 'pageerror';
  text: string;
  /** The script or resource the message is about (falls back to the page URL). */
  url: string;
  /** `url` plus line:column when known, for the report. */
  where: string;
};

type Fixtures = {
  /**
   * Console messages matching one of these are tolerated. Empty on purpose:
   * every console error (including a missing favicon or a failed resource
   * load) fails the test. Override per file/describe with
   * `test.use({ allowedBrowserErrors: [/.../] })` only with a written reason.
   */
  allowedBrowserErrors: RegExp[];
  /**
   * Automatic: collects `console` messages of type `error` and `pageerror`
   * events from every page opened in the test's browser context, and fails
   * the test at the end if there were any.
   */
  browserErrors: BrowserError[];
};

function watchPage(page: Page, errors: BrowserError[]): void {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location();
    const url = loc.url || page.url();
    const where = loc.lineNumber ? `${url}:${loc.lineNumber}:${loc.columnNumber}` : url;
    errors.push({ kind: 'console.error', text: msg.text(), url, where });
  });
  page.on('pageerror', (error) => {
    errors.push({
      kind: 'pageerror',
      text: error.stack ?? `${error.name}: ${error.message}`,
      url: page.url(),
      where: page.url(),
    });
  });
}

export const test = base.extend<Fixtures>({
  allowedBrowserErrors: [[], { option: true }],

  browserErrors: [
    async ({ allowedBrowserErrors }, use, testInfo) => {
      const errors: BrowserError[] = [];
      await use(errors);

      const unexpected = errors.filter(
        (e) => !allowedBrowserErrors.some((re) => re.test(e.text)),
      );
      if (unexpected.length > 0) {
        const report = unexpected
          .map(
            (e, i) =>
              `  ${i + 1}. [${e.kind}] ${e.text.replace(/\n\s*/g, '\n       ')}\n     at ${e.where}`,
          )
          .join('\n');
        await testInfo.attach('browser-errors.txt', {
          body: report,
          contentType: 'text/plain',
        });
        expect(
          unexpected.map((e) => `[${e.kind}] ${e.text}`),
          `The browser reported ${unexpected.length} error(s) during the test:\n${report}\n`,
        ).toEqual([]);
      }
    },
    { auto: true },
  ],

  // Every page of the test's context is watched (the default `page`, popups,
  // extra `context.newPage()` pages). Tests that need special context options
  // (timezone, viewport, ...) should use `test.use({...})` so that they still
  // get this context. Tests that only use `request` never create a browser
  // context at all.
  context: async ({ context, browserErrors }, use) => {
    for (const page of context.pages()) watchPage(page, browserErrors);
    context.on('page', (page) => watchPage(page, browserErrors));
    await use(context);
    // Give late errors (e.g. a hydration panic after the `load` event, when
    // the WebAssembly module has finished instantiating) a chance to show up
    // before the context is closed and the errors are checked.
    await settle(context);
  },
});

async function settle(context: BrowserContext): Promise<void> {
  await Promise.all(
    context
      .pages()
      .filter((p) => !p.isClosed())
      .map((p) =>
        p.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => {}),
      ),
  );
}

export { expect };

/**
 * For the rare test where the browser itself is *supposed* to log an error,
 * e.g. Chromium's "Failed to load resource: the server responded with a status
 * of 404" for a document that is deliberately served with status 404.
 *
 * Waits until exactly one collected error matches both `text` and the
 * resource `url` (the location Chromium attaches to the message), asserts it,
 * and removes it from `errors` so that the automatic end-of-test check does
 * not fail on it. Every other error still fails the test.
 */
export async function expectBrowserError(
  errors: BrowserError[],
  { text, url }: { text: RegExp; url: string | RegExp },
): Promise<void> {
  const sameUrl = (u: string) => (typeof url === 'string' ? u === url : url.test(u));
  const matches = (e: BrowserError) => e.kind === 'console.error' && text.test(e.text) && sameUrl(e.url);
  await expect
    .poll(() => errors.filter(matches).length, {
      message: `expected the browser to report one error matching ${text} for ${url}`,
      timeout: 5_000,
    })
    .toBe(1);
  errors.splice(errors.findIndex(matches), 1);
}

const AXE_TAGS = [
  'wcag2a',
  'wcag2aa',
  'wcag21a',
  'wcag21aa',
  'best-practice',
];

/**
 * Runs axe-core on the current state of `page` and fails (with a readable
 * summary: rule id, impact, help text, offending targets) if any violation is
 * found. The raw axe violations are attached to the test report.
 */
export async function expectNoAxeViolations(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();

  const violations = results.violations.map((v) => ({
    id: v.id,
    impact: v.impact ?? 'unknown',
    help: v.help,
    helpUrl: v.helpUrl,
    targets: v.nodes.map((n) => n.target.map(String).join(' ')),
  }));

  if (violations.length > 0) {
    await test.info().attach('axe-violations.json', {
      body: JSON.stringify(results.violations, null, 2),
      contentType: 'application/json',
    });
  }

  const summary = violations
    .map(
      (v) =>
        `- ${v.id} [${v.impact}]: ${v.help}\n  ${v.helpUrl}\n` +
        v.targets.map((t) => `    * ${t}`).join('\n'),
    )
    .join('\n');

  expect(
    violations.map(({ id, impact, help, targets }) => ({ id, impact, help, targets })),
    `axe found ${violations.length} accessibility violation(s) on ${page.url()}:\n${summary}\n`,
  ).toEqual([]);
}

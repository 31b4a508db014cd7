// The `test` every spec uses: Playwright's, plus a guard that fails a test when any page it
// opened (in any browser context) hit the Content Security Policy, or crashed: a Rust panic in
// the WASM half (logged by its panic hook) or an uncaught exception. So every spec also proves
// that the app works under the CSP the server sends, and never breaks while it does.
import { BrowserContext, expect, test as base } from '@playwright/test';

/** The marker the in-page listener logs, so the console hook can tell its reports apart. */
const MARKER = 'Content Security Policy violation:';

/** Contexts already watched (the default one can be seen twice). */
const watched = new WeakSet<BrowserContext>();

/** What the panic hook of the WASM half logs, and what a trap or a double borrow throws. */
const CRASH = /panicked at|RuntimeError: unreachable|already (mutably )?borrowed/;

/** Reports every CSP violation and CSP console error in `context`'s pages into `found`, and
 *  every crash into `crashes`. */
async function watch(context: BrowserContext, found: string[], crashes: string[]): Promise<void> {
  if (watched.has(context)) return;
  watched.add(context);
  context.on('console', (message) => {
    const text = message.text();
    if (text.includes(MARKER) || (message.type() === 'error' && /Content Security Policy/i.test(text))) {
      found.push(`${message.location().url}: ${text}`);
    } else if (message.type() === 'error' && CRASH.test(text)) {
      crashes.push(`${message.location().url}: ${text}`);
    }
  });
  context.on('weberror', (error) => crashes.push(`${error.page()?.url() ?? '?'}: ${error.error().message}`));
  await context.addInitScript((marker) => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`${marker} ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
    });
  }, MARKER);
}

export const test = base.extend<{ cspAllowed: RegExp[]; cspGuard: void }>({
  /** Violations a test provokes on purpose (the framing test); any other one fails it. */
  cspAllowed: [[], { option: true }],
  cspGuard: [
    async ({ browser, context, cspAllowed }, use, testInfo) => {
      const found: string[] = [];
      const crashes: string[] = [];
      await watch(context, found, crashes);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (...args) => {
        const created = await newContext(...args);
        await watch(created, found, crashes);
        return created;
      };
      try {
        await use();
      } finally {
        browser.newContext = newContext;
      }
      const unexpected = found.filter((text) => !cspAllowed.some((allowed) => allowed.test(text)));
      if (testInfo.status === testInfo.expectedStatus) {
        expect(unexpected, 'Content Security Policy violations').toEqual([]);
        expect(crashes, 'pages that panicked or threw').toEqual([]);
      }
    },
    { auto: true },
  ],
});

export { expect };

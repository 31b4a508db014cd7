// cargo-leptos starts the server and runs Playwright at once; wait until it serves pages
// (/healthz is not public without server.admin_token).
import { BASE_URL } from '../playwright.config';

export default async function globalSetup(): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${BASE_URL}/login`);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`switchboard did not become healthy at ${BASE_URL}: ${last}`);
}

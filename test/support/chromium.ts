/**
 * Debian's headless Chromium for the browser tests, launched so that it phones nowhere (no background
 * networking, component updates or sync): a run stays offline and repeatable. Without /usr/bin/chromium
 * the browser tests are skipped, never installed from here.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

const OFFLINE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium (playwright gives each launch a fresh temporary profile). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: OFFLINE_ARGS });
}

/** A headless Chromium on the profile folder `profile` (a fresh one a test made), with headers sent on every request. */
export async function launchChromiumProfile(
  profile: string,
  extraHTTPHeaders?: Record<string, string>,
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', ...OFFLINE_ARGS],
    ...(extraHTTPHeaders && { extraHTTPHeaders }),
  });
}

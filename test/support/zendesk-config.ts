/**
 * The daemon's configuration pointed at a Zendesk stand-in (its base URL and API credentials), read
 * through the real loader so a test sees every default a deployment would; fails loudly if it is not valid.
 */
import { loadConfig, type Config } from '../../src/config.js';
import type { ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';

export function zendeskConfigFor(standIn: ZendeskStandIn, env: Record<string, string> = {}): Config {
  const loaded = loadConfig({
    ZENDESK_BASE_URL: standIn.baseUrl,
    ZENDESK_EMAIL: standIn.credentials.email,
    ZENDESK_API_TOKEN: standIn.credentials.token,
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return loaded.config;
}

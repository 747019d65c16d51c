/**
 * The daemon's configuration pointed at a Zendesk stand-in (its base URL and API credentials), read
 * through the real loader so a test sees every default a deployment would; fails loudly if it is not valid.
 */
import { loadConfig, type Config } from '../../src/config.js';
import { createZendeskClient } from '../../src/connectors/zendesk/client.js';
import { applyZendeskSetup, planZendeskSetup } from '../../src/connectors/zendesk/setup.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';

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

/**
 * A fresh stand-in, set up as `portal-sync zendesk setup` sets up a Zendesk account for the portal (fields,
 * custom objects, end-user access), and the configuration of a Zendesk target pointed at it; `edit` first
 * changes what setup reads (the status object switched on, say).
 */
export async function zendeskStandInSetUp(
  edit: (config: Config) => void = () => undefined,
): Promise<{ standIn: ZendeskStandIn; config: Config }> {
  const standIn = await startZendeskStandIn();
  const config = zendeskConfigFor(standIn, { PORTAL_TARGET: 'zendesk' });
  edit(config);
  const client = createZendeskClient(config.zendesk);
  await applyZendeskSetup(
    client,
    config.targets.zendesk,
    await planZendeskSetup(client, config.targets.zendesk, { endUserAccess: true }),
  );
  return { standIn, config };
}

/** The writes a stand-in answered since its `from`th call, as `METHOD path status`. */
export const zendeskWritesSince = (standIn: ZendeskStandIn, from: number): string[] =>
  standIn.calls
    .slice(from)
    .filter((c) => c.method !== 'GET')
    .map((c) => `${c.method} ${c.path} ${c.status}`);

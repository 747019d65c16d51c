/**
 * What an operator pastes into another shell to try every command of the README
 * against a running demo: `export` lines for Redis, the key prefix and the
 * stand-ins' URLs and keys (the same variables the daemon was started with,
 * less its own port and log level), and a few commands to start with. Written
 * to a file with `demo --write-env FILE` (a shell sources it; the CLI reads it
 * as `.env`).
 */

/** Variables of the daemon itself, not of the commands that talk to it. */
const DAEMON_ONLY = new Set(['PORT', 'HOST', 'LOG_LEVEL']);

/** Single-quoted for any POSIX shell (and for the dotenv parser Node's loadEnvFile uses). */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function exportLines(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env)
    .filter(([name]) => !DAEMON_ONLY.has(name))
    .map(([name, value]) => `export ${name}=${shellQuote(value)}`);
}

/** The first commands to try, for the customer the scripted day creates. */
export function sampleCommands(customerName: string): string[] {
  return [
    `portal-sync status`,
    `portal-sync inspect ${shellQuote(customerName)} --explain`,
    `portal-sync report deflection --since 24h`,
  ];
}

/** The env file's text: a header, then the export lines. */
export function envFileText(env: Readonly<Record<string, string>>, daemonUrl: string): string {
  return [
    `# portal-sync demo at ${daemonUrl}: valid while the demo runs (its secrets were made for this run).`,
    '# Use: . ./this-file   (or copy it to .env in the directory you run portal-sync from)',
    ...exportLines(env),
    '',
  ].join('\n');
}

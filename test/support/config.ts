/** A configuration read from these environment variables by the real loader (every default applied); a problem throws. */
import { loadConfig, type Config } from '../../src/config.js';

export function configFrom(env: NodeJS.ProcessEnv): Config {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

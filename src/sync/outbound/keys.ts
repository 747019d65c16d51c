/** Outbound webhooks' keys are built in src/sync/redis/keys.ts (REDIS_KEYS.outbound). */

/** The lane of events that concern no customer (a dead-lettered events job). */
export const NO_CUSTOMER = '_none';

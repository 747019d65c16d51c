/**
 * Splitting a record back in two, for `identity unlink`: the entities that
 * came with one identity key move to a new record, nothing is dropped, and
 * both halves get fresh derived views.
 */
import type { IdentityKey } from './identity.js';
import { familyOf } from './identity.js';
import { project } from './project.js';
import { emptyRecord, type CustomerRecord } from './record.js';

export interface Split {
  kept: CustomerRecord;
  moved: CustomerRecord;
  /** Identity keys that now belong to the moved record. */
  movedKeys: IdentityKey[];
}

const finish = (r: CustomerRecord): CustomerRecord => ({ ...r, derived: project(r) });

function partition<V>(
  map: Record<string, V>,
  goes: (id: string, v: V) => boolean,
): [Record<string, V>, Record<string, V>] {
  const stay: Record<string, V> = {};
  const go: Record<string, V> = {};
  for (const [id, v] of Object.entries(map)) (goes(id, v) ? go : stay)[id] = v;
  return [stay, go];
}

export function splitRecord(
  record: CustomerRecord,
  key: IdentityKey,
  newId: string,
  ownedKeys: readonly IdentityKey[],
): Split {
  const value = key.slice(key.indexOf(':') + 1);
  const kept: CustomerRecord = structuredClone(record);
  const moved: CustomerRecord = emptyRecord(newId);
  const movedKeys = new Set<IdentityKey>([key]);

  switch (familyOf(key)) {
    case 'stripe': {
      // Billing belongs to the Stripe customer as a whole.
      moved.stripe = kept.stripe;
      kept.stripe = emptyRecord(record.id).stripe;
      break;
    }
    case 'sfacct': {
      moved.salesforce.account = kept.salesforce.account;
      kept.salesforce.account = null;
      const [stay, go] = partition(kept.salesforce.contacts, (_id, c) => c.data.accountId === value);
      kept.salesforce.contacts = stay;
      moved.salesforce.contacts = go;
      for (const id of Object.keys(go)) movedKeys.add(`sfcontact:${id}`);
      break;
    }
    case 'zdorg': {
      moved.zendesk.organization = kept.zendesk.organization;
      kept.zendesk.organization = null;
      const [users, movedUsers] = partition(kept.zendesk.users, (_id, u) => u.data.organizationId === value);
      const [tickets, movedTickets] = partition(kept.zendesk.tickets, (_id, t) => t.data.organizationId === value);
      Object.assign(kept.zendesk, { users, tickets });
      Object.assign(moved.zendesk, { users: movedUsers, tickets: movedTickets });
      for (const id of Object.keys(movedUsers)) movedKeys.add(`zduser:${id}`);
      break;
    }
    case 'sfcontact': {
      const [stay, go] = partition(kept.salesforce.contacts, (id) => id === value);
      kept.salesforce.contacts = stay;
      moved.salesforce.contacts = go;
      break;
    }
    case 'zduser': {
      const [users, movedUsers] = partition(kept.zendesk.users, (id) => id === value);
      const [tickets, movedTickets] = partition(
        kept.zendesk.tickets,
        (_id, t) => t.data.requesterId === value && !t.data.organizationId,
      );
      Object.assign(kept.zendesk, { users, tickets });
      Object.assign(moved.zendesk, { users: movedUsers, tickets: movedTickets });
      break;
    }
    default:
      // An email carries no entities: the link alone goes.
      break;
  }
  return {
    kept: finish(kept),
    moved: finish(moved),
    movedKeys: [...movedKeys].filter((k) => k === key || ownedKeys.includes(k)),
  };
}

/** The Zendesk stand-in's seeding helpers: organizations, users, tickets, fields and custom objects put straight into its state, without echoes. */
import type { ZendeskCustomObjects } from './custom-objects.js';
import type { ZendeskStore } from './store.js';
import { newTicket } from './tickets.js';
import { blankOrganization, blankUser } from './writes.js';
import type { ZendeskStandIn, ZendeskOrganization, ZendeskUser } from './types.js';

type Seeds = Pick<ZendeskStandIn, 'seedOrganization' | 'seedUser' | 'seedTicket' | 'seedField' | 'seedCustomObject'>;

export function zendeskSeeds(store: ZendeskStore, objects: ZendeskCustomObjects): Seeds {
  const { state } = store;
  return {
    seedOrganization: (input = {}) => {
      const time = input.updated_at ?? input.created_at ?? store.stamp();
      const id = store.nextId('organization', input.id);
      const org: ZendeskOrganization = {
        ...blankOrganization(time),
        url: `${store.baseUrl}/organizations/${id}.json`,
        name: `Organization ${id}`,
        created_at: input.created_at ?? time,
        ...structuredClone(input),
        organization_fields: { ...input.organization_fields },
        id,
        updated_at: time,
      };
      state.organizations.set(id, org);
      return org;
    },
    seedUser: (input = {}) => {
      const time = input.updated_at ?? input.created_at ?? store.stamp();
      const id = store.nextId('user', input.id);
      const user: ZendeskUser = {
        ...blankUser(time),
        url: `${store.baseUrl}/users/${id}.json`,
        name: `User ${id}`,
        // Seeded users stand for existing customers' users, who verified their address long ago.
        verified: true,
        created_at: input.created_at ?? time,
        ...structuredClone(input),
        user_fields: { ...input.user_fields },
        id,
        updated_at: time,
      };
      state.users.set(id, user);
      return user;
    },
    seedTicket: (input = {}) => {
      const ticket = newTicket(store, structuredClone(input));
      state.tickets.set(ticket.id, ticket);
      return ticket;
    },
    seedField: (scope, input) =>
      store.createField(
        scope === 'organization' ? state.organizationFields : state.userFields,
        `${scope}_fields`,
        input.title ? input : { ...input, title: input.key },
      ),
    seedCustomObject: (key, input = {}) => {
      const title = input.title ?? key;
      const object =
        state.customObjects.get(key) ?? objects.createCustomObject({ key, title, title_pluralized: `${title}s` });
      const defs = state.customObjectFields.get(key) ?? [];
      for (const f of input.fields ?? [])
        store.createField(defs, `custom_objects/${key}/fields`, { ...f, title: f.title ?? f.key });
      state.customObjectFields.set(key, defs);
      return object;
    },
  };
}

/** The Zendesk stand-in's seeding helpers: organizations, users, tickets, fields and custom objects put straight into its state, without echoes. */
import type { ZendeskCustomObjects } from './custom-objects.js';
import type { ZendeskStore } from './store.js';
import { newTicket } from './tickets.js';
import type { ZendeskStandIn, ZendeskOrganization, ZendeskUser } from './types.js';

type Seeds = Pick<ZendeskStandIn, 'seedOrganization' | 'seedUser' | 'seedTicket' | 'seedField' | 'seedCustomObject'>;

export function zendeskSeeds(store: ZendeskStore, objects: ZendeskCustomObjects): Seeds {
  const { state } = store;
  return {
    seedOrganization: (input = {}) => {
      const time = input.updated_at ?? input.created_at ?? store.stamp();
      const id = store.nextId('organization', input.id);
      const org: ZendeskOrganization = {
        url: `${store.baseUrl}/organizations/${id}.json`,
        name: `Organization ${id}`,
        external_id: null,
        shared_tickets: false,
        shared_comments: false,
        domain_names: [],
        details: null,
        notes: null,
        group_id: null,
        tags: [],
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
        url: `${store.baseUrl}/users/${id}.json`,
        name: `User ${id}`,
        email: null,
        external_id: null,
        organization_id: null,
        role: 'end-user',
        active: true,
        verified: true,
        suspended: false,
        locale: 'en-US',
        time_zone: 'Eastern Time (US & Canada)',
        phone: null,
        details: null,
        notes: null,
        default_group_id: null,
        tags: [],
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

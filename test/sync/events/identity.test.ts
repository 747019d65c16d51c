import { describe, expect, it } from 'vitest';
import { eventIdentityKeys, planAttribution, planIdentity } from '../../../src/sync/events/identity.js';
import type { CustomerRefs, SourceEvent } from '../../../src/sync/events/source-event.js';
import { customer, event } from './merge-events.js';

const withRefs = (e: SourceEvent, refs: CustomerRefs): SourceEvent => ({ ...e, refs });
const account = (id: string, version = 1_000) =>
  withRefs(event(id, { kind: 'salesforce.account', fields: { Id: id, Name: 'Acme' } }, { version }), {
    salesforceAccountId: id,
  });
const owners = (o: Record<string, string>) => new Map(Object.entries(o));
const owned = (o: Record<string, string[]>) => new Map(Object.entries(o).map(([k, v]) => [k, new Set(v)]));

describe('identity planning', () => {
  it("orders an event's keys from its own object to the weakest link, the email", () => {
    const e = withRefs(customer({ version: 1 }), {
      stripeCustomerId: 'cus_1',
      salesforceAccountId: '001A',
      email: 'a@x.example',
    });
    expect(eventIdentityKeys(e)).toEqual(['stripe:cus_1', 'sfacct:001A', 'email:a@x.example']);
  });

  it('puts a Salesforce account into the record of the Stripe customer that names it', () => {
    const plan = planIdentity(
      account('001A'),
      owners({ 'sfacct:001A': 'R1' }),
      owned({ R1: ['stripe:cus_1', 'sfacct:001A'] }),
      'NEW',
    );
    expect(plan).toMatchObject({ targetId: 'R1', mergeIds: [], conflicts: [] });
  });

  it('merges a Stripe-only record and a Salesforce-only record once an event proves they are one customer', () => {
    const e = withRefs(customer({ version: 2 }), { stripeCustomerId: 'cus_1', salesforceAccountId: '001A' });
    const plan = planIdentity(
      e,
      owners({ 'stripe:cus_1': 'R1', 'sfacct:001A': 'R2' }),
      owned({ R1: ['stripe:cus_1'], R2: ['sfacct:001A'] }),
      'NEW',
    );
    expect(plan.targetId).toBe('R1');
    expect(plan.mergeIds).toEqual(['R2']);
    expect(plan.conflicts).toEqual([]);
    expect(plan.claimKeys.sort()).toEqual(['sfacct:001A', 'stripe:cus_1']);
  });

  it('never merges two records that carry different ids of one system: it records a conflict instead', () => {
    // A second Stripe customer shares the first one's email but names another Salesforce account.
    const e = withRefs(customer({ version: 3 }), {
      stripeCustomerId: 'cus_2',
      salesforceAccountId: '001B',
      email: 'shared@x.example',
    });
    const plan = planIdentity(
      e,
      owners({ 'email:shared@x.example': 'R1' }),
      owned({ R1: ['stripe:cus_1', 'sfacct:001A', 'email:shared@x.example'] }),
      'NEW',
    );
    expect(plan.targetId).toBe('NEW');
    expect(plan.mergeIds).toEqual([]);
    expect(plan.conflicts).toHaveLength(1);
    expect(plan.conflicts[0]).toMatchObject({
      recordIds: ['NEW', 'R1'],
      system: 'stripe',
      evidence: { via: 'email:shared@x.example' },
    });
    // The email stays with the record that had it: nothing is taken by guessing.
    expect(plan.claimKeys.sort()).toEqual(['sfacct:001B', 'stripe:cus_2']);
  });

  it('gives the same conflict id whichever side reports it, so a retried job records it once', () => {
    const e = withRefs(customer({ version: 3 }), { stripeCustomerId: 'cus_2', email: 'shared@x.example' });
    const a = planIdentity(e, owners({ 'email:shared@x.example': 'R1' }), owned({ R1: ['stripe:cus_1'] }), 'R2');
    const b = planIdentity(
      e,
      owners({ 'email:shared@x.example': 'R1', 'stripe:cus_2': 'R2' }),
      owned({ R1: ['stripe:cus_1'], R2: ['stripe:cus_2'] }),
      'NEW',
    );
    expect(a.conflicts[0]?.id).toBe(b.conflicts[0]?.id);
  });

  it("an email does not carry a Stripe customer into another company's organization: it is a conflict", () => {
    // A Zendesk user of organization 7 whose email is the Stripe customer's billing email.
    const user = withRefs(
      event(
        '801',
        {
          kind: 'zendesk.user',
          id: '801',
          name: null,
          email: 'billing@d.example',
          externalId: null,
          organizationId: '7',
          role: 'end-user',
        },
        { version: 5 },
      ),
      { zendeskUserId: '801', zendeskOrganizationId: '7', email: 'billing@d.example' },
    );
    const plan = planIdentity(
      user,
      owners({ 'zdorg:7': 'RC', 'email:billing@d.example': 'RD' }),
      owned({ RC: ['zdorg:7'], RD: ['stripe:cus_D', 'email:billing@d.example'] }),
      'NEW',
    );
    expect(plan).toMatchObject({ targetId: 'RC', mergeIds: [] });
    expect(plan.conflicts).toHaveLength(1);
    expect(plan.conflicts[0]).toMatchObject({
      system: 'email',
      keys: ['zdorg:7', 'stripe:cus_D'],
      evidence: { via: 'email:billing@d.example' },
    });
    expect(plan.claimKeys).not.toContain('email:billing@d.example');
  });

  it('an email reaching a record with a system id cannot host an event that brings another one', () => {
    const user = withRefs(
      event(
        '801',
        {
          kind: 'zendesk.user',
          id: '801',
          name: null,
          email: 'billing@d.example',
          externalId: null,
          organizationId: '7',
          role: 'end-user',
        },
        { version: 5 },
      ),
      { zendeskUserId: '801', zendeskOrganizationId: '7', email: 'billing@d.example' },
    );
    const plan = planIdentity(
      user,
      owners({ 'email:billing@d.example': 'RD' }),
      owned({ RD: ['stripe:cus_D', 'email:billing@d.example'] }),
      'NEW',
    );
    expect(plan.targetId).toBe('NEW');
    expect(plan.mergeIds).toEqual([]);
    expect(plan.conflicts.map((c) => c.recordIds)).toEqual([['NEW', 'RD']]);
    expect(plan.claimKeys.sort()).toEqual(['zdorg:7', 'zduser:801']);
  });

  it('an email still joins records when one side holds no system id', () => {
    const contact = withRefs(
      event(
        '003X',
        { kind: 'salesforce.contact', accountId: null, email: 'billing@d.example', name: null, fields: {} },
        { version: 5 },
      ),
      { salesforceContactId: '003X', email: 'billing@d.example' },
    );
    const plan = planIdentity(
      contact,
      owners({ 'sfcontact:003X': 'RK', 'email:billing@d.example': 'RD' }),
      owned({ RK: ['sfcontact:003X'], RD: ['stripe:cus_D', 'email:billing@d.example'] }),
      'NEW',
    );
    expect(plan).toMatchObject({ targetId: 'RK', mergeIds: ['RD'], conflicts: [] });
  });

  it('portal activity is filed under the record of its strongest id, and reports the ids naming another', () => {
    const activity = withRefs(
      event(
        'sess-1',
        {
          kind: 'portal.activity',
          activity: 'invoice_view',
          sessionId: 'sess-1',
          query: null,
          resultCount: null,
          articleId: null,
          invoiceId: null,
          ticketId: null,
          properties: {},
        },
        { version: 5 },
      ),
      { zendeskUserId: '801', email: 'billing@d.example' },
    );
    expect(planAttribution(activity, owners({ 'zduser:801': 'RA', 'email:billing@d.example': 'RD' }))).toEqual({
      targetId: 'RA',
      strongest: 'zduser:801',
      mismatched: ['email:billing@d.example'],
    });
    // The strongest id is unknown: a record of its own; the email naming another customer is not followed.
    expect(planAttribution(activity, owners({ 'email:billing@d.example': 'RD' }))).toEqual({
      targetId: null,
      strongest: 'zduser:801',
      mismatched: ['email:billing@d.example'],
    });
    expect(
      planAttribution(
        { ...activity, refs: { email: 'billing@d.example' } },
        owners({ 'email:billing@d.example': 'RD' }),
      ),
    ).toEqual({ targetId: 'RD', strongest: 'email:billing@d.example', mismatched: [] });
    expect(planAttribution(activity, owners({}))).toEqual({ targetId: null, strongest: 'zduser:801', mismatched: [] });
  });

  it('a record written with a 15-character Account id is not in conflict with the same Account by its 18 characters', () => {
    const e = withRefs(customer({ version: 9 }), {
      stripeCustomerId: 'cus_1',
      salesforceAccountId: '001000000000301AAA',
    });
    const plan = planIdentity(
      e,
      owners({ 'stripe:cus_1': 'R1', 'sfacct:001000000000301AAA': 'R2' }),
      owned({ R1: ['stripe:cus_1', 'sfacct:001000000000301'], R2: ['sfacct:001000000000301AAA'] }),
      'NEW',
    );
    expect(plan).toMatchObject({ targetId: 'R1', mergeIds: ['R2'], conflicts: [] });
  });
});

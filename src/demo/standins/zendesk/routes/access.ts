/** The Zendesk stand-in's record-level permissions of a custom object: access rules (list, create, show) and permission policies (show, patch). */
import type express from 'express';
import { closedPolicy, isPolicyId, parseAccessRule, patchPolicy, type AccessRule, type Problems } from '../access.js';
import { HttpError, invalid, positiveInt, send, zendeskErrors } from '../render.js';
import { body, echoRouter, param, type ZendeskApi } from '../http.js';

const accessProblems = (problems: Problems) =>
  invalid(
    Object.fromEntries(
      Object.entries(problems).map(([field, description]) => [field, [{ description, error: 'InvalidValue' }]]),
    ),
  );

const policyNotFound = () =>
  new HttpError(404, zendeskErrors.errorsList(404, 'NotFound', 'Permission policy not found'));

export function accessRoutes({ echoes, store, objects }: ZendeskApi): express.Router {
  const { router, on } = echoRouter(echoes);
  on('get', '/custom_objects/:key/access_rules', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    send(res, 200, { access_rules: objects.accessOf(key).rules });
  });
  on('post', '/custom_objects/:key/access_rules', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    const access = objects.accessOf(key);
    const { rule, problems } = parseAccessRule(
      body(req).access_rule,
      store.state.customObjectFields.get(key) ?? [],
      access.rules.length,
    );
    if (!rule) throw accessProblems(problems);
    const time = store.stamp();
    const created: AccessRule = {
      id: 25000000000000 + ++store.sequences.record,
      ...rule,
      created_at: time,
      updated_at: time,
    };
    access.rules.push(created);
    send(res, 201, { access_rule: created });
  });
  on('get', '/custom_objects/:key/access_rules/:id', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    const rule = objects.accessOf(key).rules.find((r) => r.id === positiveInt(param(req, 'id')));
    if (!rule) throw new HttpError(404, zendeskErrors.errorsList(404, 'NotFound', 'Access rule not found'));
    send(res, 200, { access_rule: rule });
  });
  on('get', '/custom_objects/:key/permission_policies/:id', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    const id = param(req, 'id');
    if (!isPolicyId(id)) throw policyNotFound();
    send(res, 200, { policy: objects.accessOf(key).policies.get(id) ?? closedPolicy(id) });
  });
  on('patch', '/custom_objects/:key/permission_policies/:id', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    const id = param(req, 'id');
    if (!isPolicyId(id)) throw policyNotFound();
    const access = objects.accessOf(key);
    const { policy, problems } = patchPolicy(
      access.policies.get(id) ?? closedPolicy(id),
      body(req),
      new Set(access.rules.map((r) => r.id)),
    );
    if (!policy) throw accessProblems(problems);
    access.policies.set(id, policy);
    send(res, 200, { policy });
  });
  return router;
}

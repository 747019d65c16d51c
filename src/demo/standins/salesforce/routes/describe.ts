/** The Salesforce stand-in's limits and describe routes: /limits, the global describe, an object's basic info and its full describe. */
import express from 'express';
import { type Ctx, MAX_COLLECTION, objectOr404, send, versionOf } from '../http.js';

export function describeRoutes(ctx: Ctx): express.Router {
  const { state } = ctx;
  const r = express.Router();
  r.get('/limits', (_req, res) => {
    const remaining = (max: number) => ({ Max: max, Remaining: max });
    send(res, 200, {
      DailyApiRequests: { Max: ctx.dailyLimit, Remaining: Math.max(0, ctx.dailyLimit - state.apiUsage) },
      DailyBulkV2QueryJobs: remaining(10000),
      DataStorageMB: remaining(5),
      FileStorageMB: remaining(20),
    });
  });

  r.get('/sobjects', (_req, res) => {
    send(res, 200, {
      encoding: 'UTF-8',
      maxBatchSize: MAX_COLLECTION,
      sobjects: [...state.objects.values()].map((d) => ({
        name: d.name,
        label: d.label,
        labelPlural: d.labelPlural,
        keyPrefix: d.keyPrefix,
        custom: d.custom,
        createable: true,
        updateable: true,
        deletable: true,
        queryable: true,
      })),
    });
  });

  r.get('/sobjects/:sobject', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    send(res, 200, {
      objectDescribe: { name: def.name, label: def.label, keyPrefix: def.keyPrefix, custom: def.custom },
      recentItems: [],
    });
  });

  r.get('/sobjects/:sobject/describe', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const base = `/services/data/v${versionOf(res)}/sobjects/${def.name}`;
    send(res, 200, {
      name: def.name,
      label: def.label,
      labelPlural: def.labelPlural,
      keyPrefix: def.keyPrefix,
      custom: def.custom,
      createable: true,
      updateable: true,
      deletable: true,
      queryable: true,
      fields: def.fields.map((f) => ({
        ...f,
        calculated: f.type === 'address' || (def.name === 'Contact' && f.name === 'Name'),
      })),
      urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
    });
  });
  return r;
}

/** The Zendesk stand-in's custom objects: objects, their records (kept under their external id), and each object's record-level access rules and policies. */
import { HttpError, isRecord, same, zendeskErrors } from './render.js';
import type { ZendeskStore } from './store.js';
import type { ZendeskCustomObject, ZendeskCustomObjectRecord, ZendeskState } from './types.js';

type Access = ZendeskState['customObjectAccess'] extends Map<string, infer A> ? A : never;

export const recordNotFound = () =>
  new HttpError(404, zendeskErrors.errorsList(404, 'RecordNotFound', 'Custom object record not found'));
export const recordInvalid = (detail: string) =>
  new HttpError(422, zendeskErrors.errorsList(422, 'RecordInvalid', detail));

export class ZendeskCustomObjects {
  constructor(private readonly store: ZendeskStore) {}

  private get state(): ZendeskState {
    return this.store.state;
  }

  objectOr404(key: string): ZendeskCustomObject {
    const object = this.state.customObjects.get(key);
    if (!object) throw new HttpError(404, zendeskErrors.errorsList(404, 'NotFound', 'Custom object not found'));
    return object;
  }

  recordsOf(key: string): Map<string, ZendeskCustomObjectRecord> {
    let records = this.state.customObjectRecords.get(key);
    if (!records) this.state.customObjectRecords.set(key, (records = new Map()));
    return records;
  }

  /** Records are kept under their external id (their id when they have none), and an external id never changes. */
  recordBy(key: string, by: { id?: string; externalId?: string }): ZendeskCustomObjectRecord | undefined {
    if (by.id === undefined) {
      const record = by.externalId === undefined ? undefined : this.recordsOf(key).get(by.externalId);
      return record?.external_id === by.externalId ? record : undefined;
    }
    return [...this.recordsOf(key).values()].find((r) => r.id === by.id);
  }

  accessOf(key: string): Access {
    let access = this.state.customObjectAccess.get(key);
    if (!access) this.state.customObjectAccess.set(key, (access = { rules: [], policies: new Map() }));
    return access;
  }

  createCustomObject(input: unknown): ZendeskCustomObject {
    const o = isRecord(input) ? input : {};
    const key = typeof o.key === 'string' ? o.key.trim() : '';
    const title = typeof o.title === 'string' ? o.title.trim() : '';
    const plural = typeof o.title_pluralized === 'string' ? o.title_pluralized.trim() : '';
    if (!key || !title || !plural) throw recordInvalid('key, title and title_pluralized are required');
    if (this.state.customObjects.has(key)) throw recordInvalid(`Key ${key} has already been taken`);
    const time = this.store.stamp();
    const description = typeof o.description === 'string' ? o.description : null;
    const object: ZendeskCustomObject = {
      url: `${this.store.baseUrl}/custom_objects/${key}.json`,
      key,
      title,
      raw_title: title,
      title_pluralized: plural,
      raw_title_pluralized: plural,
      description,
      raw_description: description,
      include_in_list_view: o.include_in_list_view === true,
      allows_photos: o.allows_photos === true,
      created_by_user_id: '1',
      updated_by_user_id: '1',
      created_at: time,
      updated_at: time,
    };
    this.state.customObjects.set(key, object);
    this.state.customObjectFields.set(key, []);
    this.recordsOf(key);
    return object;
  }

  writeRecord(key: string, existing: ZendeskCustomObjectRecord | undefined, input: unknown, externalId?: string) {
    const r = isRecord(input) ? input : {};
    if ('custom_object_fields' in r && !isRecord(r.custom_object_fields))
      throw recordInvalid('custom_object_fields must be an object');
    const fields = isRecord(r.custom_object_fields) ? r.custom_object_fields : {};
    const name = typeof r.name === 'string' ? r.name.trim() : undefined;
    const records = this.recordsOf(key);
    const time = this.store.stamp();
    if (existing) {
      const next = {
        ...existing,
        custom_object_fields: { ...existing.custom_object_fields, ...fields },
        ...(name && { name }),
      };
      const changed = !same(existing, next);
      if (changed) Object.assign(existing, next, { updated_at: time });
      return { record: existing, created: false, changed };
    }
    // The display name is mandatory when a record is created (unless the object autonumbers names).
    if (!name) throw recordInvalid('Name is required');
    const ext = externalId ?? (typeof r.external_id === 'string' && r.external_id ? r.external_id : null);
    if (ext !== null && this.recordBy(key, { externalId: ext }))
      throw recordInvalid(`External id ${ext} has already been taken`);
    const id = `01STANDIN${String(++this.store.sequences.record).padStart(17, '0')}`;
    const record: ZendeskCustomObjectRecord = {
      url: `${this.store.baseUrl}/custom_objects/${key}/records/${id}.json`,
      id,
      name,
      external_id: ext,
      custom_object_key: key,
      custom_object_fields: { ...fields },
      created_by_user_id: '1',
      updated_by_user_id: '1',
      created_at: time,
      updated_at: time,
      photo: null,
    };
    records.set(ext ?? id, record);
    return { record, created: true, changed: true };
  }

  deleteRecord(key: string, record: ZendeskCustomObjectRecord): boolean {
    return this.recordsOf(key).delete(record.external_id ?? record.id);
  }
}

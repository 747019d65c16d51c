/** Salesforce ids (15/18 characters), REST datetimes and the error shapes of the REST API (ApiError, DML errors). */

// ---------------------------------------------------------------------------------------------
// Ids, time, errors
// ---------------------------------------------------------------------------------------------

const CHECKSUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const ID_SHAPE = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/** The 18-character form of a record id: each suffix character encodes which of five characters are upper case. */
export function toId18(id: string): string {
  if (id.length !== 15) return id;
  let suffix = '';
  for (let chunk = 0; chunk < 15; chunk += 5) {
    let bits = 0;
    for (let i = 0; i < 5; i++) if (/[A-Z]/.test(id[chunk + i] ?? '')) bits |= 1 << i;
    suffix += CHECKSUM[bits];
  }
  return id + suffix;
}

export function base62(n: number, width: number): string {
  let text = '';
  for (let rest = Math.floor(n); rest > 0; rest = Math.floor(rest / 62)) text = BASE62[rest % 62] + text;
  return text.padStart(width, '0');
}

/** REST renders datetimes as 2024-12-02T09:25:34.000+0000. */
export const restDateTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');
export const wholeSeconds = (ms: number) => Math.floor(ms / 1000) * 1000;
export const DATETIME_IN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** An answer other than 2xx, in Salesforce's shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`Salesforce stand-in answers ${status}`);
  }
}

export function apiError(status: number, errorCode: string, message: string, fields?: string[]): ApiError {
  return new ApiError(status, [{ message, errorCode, ...(fields ? { fields } : {}) }]);
}

export const notFound = () => apiError(404, 'NOT_FOUND', 'The requested resource does not exist');
export const noSuchExternalIdField = (name: string) =>
  apiError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${name}`);
export const noSuchColumn = (name: string, sobject: string) =>
  `No such column '${name}' on entity '${sobject}'. If you are attempting to use a custom field, be sure to ` +
  "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

/** A per-record DML error; sObject Collections carry these in results, single-record calls answer 400 with them. */
export type DmlError = { statusCode: string; message: string; fields: string[] };
export const dml = (statusCode: string, message: string, fields: string[] = []): DmlError => ({
  statusCode,
  message,
  fields,
});
export const dmlFailure = (errors: DmlError[]) =>
  new ApiError(
    400,
    errors.map((e) => ({ message: e.message, errorCode: e.statusCode, fields: e.fields })),
  );

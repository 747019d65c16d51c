/** The values a field mapping gives one target (mapping/apply.ts computes them; the projection carries them). */
export type FieldValue = string | number | boolean | null;
export type FieldSet = Record<string, FieldValue>;

/** One target's mapped values: a field set per place, and per invoice or ticket id for the record sections. */
export interface MappedSections {
  organizationFields?: FieldSet;
  userFields?: FieldSet;
  accountFields?: FieldSet;
  invoiceObject?: Record<string, FieldSet>;
  invoice?: Record<string, FieldSet>;
  ticket?: Record<string, FieldSet>;
}

/**
 * Runs the scenario files in the order of their names (01-… to 10-…): the
 * secrets scenario comes last so it can scan the logs of every daemon the
 * suite started.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export class ByNameSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}

// Jest for the Lightning Web Components of this Salesforce DX project (sfdx-lwc-jest's preset): run from this
// folder (`npm run test:lwc` at the repository root), it picks only the components' __tests__, never the daemon's.
const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

module.exports = {
    ...jestConfig,
    testMatch: ['<rootDir>/force-app/**/lwc/**/__tests__/**/*.test.js'],
    testPathIgnorePatterns: ['/node_modules/'],
};

// Three tiers (see README "Tests"): colocated unit specs, integration tests against a real
// Postgres (DATABASE_URL, else the embedded PGlite), and e2e tests over HTTP with real ONNX files.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];
// NestJS 12 and a few of its dependencies ship ES modules only. Node 20 loads them with
// require(esm), Jest's module runtime does not, so Jest compiles them to CommonJS too.
const ESM_PACKAGES = ['@nestjs', 'file-type', 'strtok3', 'token-types', '@borewit', 'uint8array-extras', '@tokenizer', 'load-esm', 'content-disposition', 'jose', 'hyparquet', 'hyparquet-writer', 'hyparquet-compressors', 'hysnappy'];
const common = {
  transform: { '^.+\\.(ts|js|mjs)$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  setupFiles: ['<rootDir>/test/jest-setup.ts'],
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/fixtures/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.spec.ts'] },
  ],
};

// The layers of src/ (docs/architecture.md draws them), checked by
// `npm run depcheck` in `npm run lint`. Specs may import across layers.
const LIB = '^src/eventstream/';
const ROOT = `${LIB}(eventstream\\.module|eventstream\\.module-definition|index)\\.ts$`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle makes load order matter and folders inseparable.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'service-knows-no-delivery-mode',
      comment:
        'EventStreamService writes events and tells the delivery port; it never names direct, GRIP, HTTP or a store implementation.',
      severity: 'error',
      from: { path: `${LIB}eventstream\\.service\\.ts$` },
      to: { path: `${LIB}(direct|grip|http|app-streams|storage/[^/]+)/` },
    },
    {
      name: 'ports-are-abstract',
      comment:
        'The delivery port declares types and a token only (and answers presence in the public type).',
      severity: 'error',
      from: { path: `${LIB}delivery/` },
      to: { path: '^src/', pathNot: [`${LIB}delivery/`, `${LIB}presence/channel-presence\\.ts$`] },
    },
    {
      name: 'presence-below-delivery-modes',
      comment:
        'Presence counts what direct delivery holds and announces through the service; it knows no mode.',
      severity: 'error',
      from: { path: `${LIB}presence/` },
      to: { path: `${LIB}(delivery|direct|grip|http|app-streams)/` },
    },
    {
      name: 'direct-knows-no-grip',
      comment: 'GRIP delivery may stream directly (unsigned requests); direct never needs GRIP.',
      severity: 'error',
      from: { path: `${LIB}direct/` },
      to: { path: `${LIB}grip/` },
    },
    {
      name: 'storage-below-delivery',
      comment: 'The log knows nothing of who reads it or how.',
      severity: 'error',
      from: { path: `${LIB}storage/` },
      to: {
        path: `${LIB}(delivery|direct|grip|http|app-streams|health|metrics|retention|limits|eventstream\\.)`,
      },
    },
    {
      name: 'foundation-stays-below',
      comment:
        'Errors, event rules, the wire format, auth and connect hooks are leaves (they may declare options with the shared rules).',
      severity: 'error',
      from: { path: `${LIB}(errors|events|sse|auth|connect)/` },
      to: {
        path: `${LIB}(storage|delivery|direct|grip|http|app-streams|health|metrics|retention|limits|options|eventstream\\.)`,
        pathNot: `${LIB}options/option-rules\\.ts$`,
      },
    },
    {
      name: 'option-rules-are-a-leaf',
      comment: 'The rules every options class is declared with depend on class-validator only.',
      severity: 'error',
      from: { path: `${LIB}options/option-rules\\.ts$` },
      to: { path: '^src/' },
    },
    {
      name: 'endpoints-on-top',
      comment: 'Only the routes and the module wiring them reach the HTTP layer.',
      severity: 'error',
      from: { path: LIB, pathNot: [`${LIB}(http|app-streams)/`, ROOT] },
      to: { path: `${LIB}(http|app-streams)/` },
    },
    {
      name: 'only-the-root-wires',
      comment: 'The module is the composition root: nothing inside imports it.',
      severity: 'error',
      from: { path: LIB, pathNot: ROOT },
      to: { path: `${LIB}eventstream\\.module(-definition)?\\.ts$` },
    },
    {
      name: 'library-stands-alone',
      comment: 'The published library never loads the bundled server or the CLI.',
      severity: 'error',
      from: { path: LIB },
      to: { path: '^src/(server|cli|main)' },
    },
    {
      name: 'client-stands-alone',
      comment: 'The browser client is bundled on its own.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/client/' },
    },
  ],
  options: {
    includeOnly: '^src/',
    exclude: { path: ['/generated/', '\\.spec\\.ts$'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

import { defineConfig } from 'vitepress';

// The manual as a site: `npm run docs:build` builds it (and fails on a dead
// link), `npm run docs:check` also checks every anchor of the built pages.
export default defineConfig({
  title: 'nestjs-eventstream',
  description: 'Persistent, replayable Server-Sent Events for NestJS, on Postgres and Pushpin.',
  lastUpdated: false,
  // Examples such as http://127.0.0.1:3000/ are where a reader's own server runs.
  ignoreDeadLinks: 'localhostLinks',
  themeConfig: {
    search: { provider: 'local' },
    sidebar: [
      {
        text: 'Using it',
        items: [
          { text: 'Getting started', link: '/getting-started' },
          { text: 'Sending events', link: '/sending' },
          { text: 'The events endpoint', link: '/endpoint' },
          { text: 'History', link: '/history' },
          { text: 'Presence', link: '/presence' },
          { text: 'The browser client', link: '/client' },
          { text: 'Authorization and revocation', link: '/authorization' },
          { text: 'Streams from app code', link: '/app-streams' },
          { text: 'Configuration', link: '/configuration' },
        ],
      },
      {
        text: 'Running it',
        items: [
          { text: 'Direct mode', link: '/direct-mode' },
          { text: 'GRIP mode (Pushpin)', link: '/grip' },
          { text: 'Operations', link: '/operations' },
          { text: 'Read replicas', link: '/replicas' },
          { text: 'Scaling out', link: '/scaling' },
          { text: 'The bundled server', link: '/bundled-server' },
          { text: 'Threat model', link: '/threat-model' },
        ],
      },
      {
        text: 'More',
        items: [
          { text: 'Benchmarks', link: '/benchmarks' },
          { text: 'FAQ', link: '/faq' },
          { text: 'Architecture', link: '/architecture' },
          { text: 'Contributing', link: '/contributing' },
        ],
      },
    ],
  },
});

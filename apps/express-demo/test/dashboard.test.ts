import { fileURLToPath } from 'node:url';
import { dashboardSuite } from '@sluice/demo-dashboard/testing';

// The suite every demo runs, against its built server (`turbo run test` builds it first).
dashboardSuite('express demo', fileURLToPath(new URL('../dist/main.js', import.meta.url)));

#!/usr/bin/env node
// The command line's old entry, kept for links made before it moved: a /usr/local/bin/nsx that an
// earlier provisioning (scripts/provision.sh, start.sh) pointed here keeps working until it is made
// again. The entry is bin/nsx.cjs (CommonJS, so that a command starts no ES module loader).
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./nsx.cjs');

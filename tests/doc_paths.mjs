// Checks that every file path a Markdown file names in `backticks` exists in the repository.
//
//   node tests/doc_paths.mjs [FILE.md ...]   (default: README.md ARCHITECTURE.md TESTING.md)
//
// A token counts as a path when it contains a slash or ends in a file extension; a bare file
// name (`worker.js`) must exist somewhere in the tree, a glob (`tests/*.rs`) must match a tracked
// file, a folder-like name (`model/`) may sit under src/ or www/. Build outputs are skipped.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
// Made by builds, downloads or runs, not committed.
const generated = ['dist', 'target', 'weights/downloads', 'weights/models.json', 'models.json',
  'node_modules', 'tests/browser/out', 'tests/fixtures/bad/fuzz'];
const extensions = ['rs', 'js', 'mjs', 'py', 'md', 'toml', 'html', 'css', 'json', 'sh', 'bpk',
  'png', 'jpg', 'npy', 'txt', 'lock'];
const hasExtension = new RegExp(`\\.(${extensions.join('|')})$`);
// A command line, URL, placeholder or code rather than a path; also absolute paths (outside
// the repository), a bare extension (`.npy`), a placeholder (`NAME.bpk`) and a list of sizes
// (`resnet18/34/50`).
const notAPath = /[\s$<>…=(){]|^https?:|^\.\.?\/?$|^-|::|^\/|^\.[a-z0-9]+$|NAME|FILE|\/\d+(\/|$)/;

const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
const names = new Set(tracked.map((f) => basename(f)));

function* candidates(text) {
  for (const [, raw] of text.matchAll(/`([^`\n]+)`/g)) {
    const token = raw.trim().replace(/[,.;:]+$/, '');
    if (notAPath.test(token)) continue;
    if (token.includes('/') || hasExtension.test(token)) yield token;
  }
}

/** A glob with `*`, `?` and `[...]` as a regular expression over tracked paths. */
const globToRegExp = (glob) => new RegExp(`^${glob.replace(/[.+^${}()|\\]/g, '\\$&')
  .replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);

function exists(token, docDir) {
  const path = token.replace(/\/+$/, '');
  if (generated.some((g) => path === g || path.startsWith(`${g}/`))) return true;
  if (/[*?[]/.test(path)) {
    const re = globToRegExp(path);
    return tracked.some((f) => re.test(f));
  }
  // From the repository's root, the document's folder, src/ (`model/`) or www/ (`samples/`).
  for (const base of [root, docDir, join(root, 'src'), join(root, 'www')]) {
    if (['', '.rs'].some((ext) => existsSync(join(base, path + ext)))) return true;
  }
  // A bare file name, as a list of www/'s files gives them.
  return !path.includes('/') && names.has(path);
}

const docs = process.argv.slice(2).length ? process.argv.slice(2) : ['README.md', 'ARCHITECTURE.md', 'TESTING.md'];
const missing = [];
for (const doc of docs) {
  const text = readFileSync(join(root, doc), 'utf8');
  for (const token of [...new Set(candidates(text))].sort()) {
    if (!exists(token, dirname(join(root, doc)))) missing.push(`${doc}: \`${token}\``);
  }
}
for (const line of missing) console.log('missing:', line);
process.exit(missing.length ? 1 : 0);

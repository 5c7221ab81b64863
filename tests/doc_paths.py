#!/usr/bin/env python3
"""Checks that every file path a Markdown file names in `backticks` exists in the repository.

    python3 tests/doc_paths.py [FILE.md ...]   (default: README.md ARCHITECTURE.md TESTING.md)

A token counts as a path when it contains a slash or ends in a file extension; a bare file
name (`worker.js`) must exist somewhere in the tree, a glob (`tests/*.rs`) must match, a
directory-like name (`model/`) may sit under src/. Build outputs and placeholders are skipped.
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Made by builds, downloads or runs, not committed.
GENERATED = ("dist", "target", "weights/downloads", "weights/models.json", "models.json",
             "node_modules",
             "tests/browser/out", "tests/fixtures/bad/fuzz")
EXTENSIONS = ("rs", "js", "mjs", "py", "md", "toml", "html", "css", "json", "sh", "bpk", "png",
              "jpg", "npy", "txt", "lock")
# A token that is a command line, URL, placeholder or code rather than a path.
# Also: absolute paths (outside the repository), a bare extension (`.npy`), a placeholder
# (`NAME.bpk`) and a list of sizes (`resnet18/34/50`).
NOT_A_PATH = re.compile(r"[\s$<>…=(){]|^https?:|^\.\.?/?$|^-|::|^/|^\.[a-z0-9]+$|NAME|FILE|/\d+(/|$)")


def tracked():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    files = out.stdout.split()
    return set(files), {os.path.basename(f) for f in files}


def candidates(text):
    for token in re.findall(r"`([^`\n]+)`", text):
        token = token.strip().rstrip(",.;:")
        if NOT_A_PATH.search(token):
            continue
        if "/" in token or re.search(r"\.(%s)$" % "|".join(EXTENSIONS), token):
            yield token


def exists(token, names, doc_dir):
    path = token.rstrip("/")
    if any(path == g or path.startswith(g + "/") for g in GENERATED):
        return True
    if any(c in path for c in "*?["):
        return bool(glob.glob(os.path.join(ROOT, path)))
    # from the repository's root, the document's folder, src/ (`model/`, `cam/last_stage`)
    # or www/ (`samples/`)
    for base in (ROOT, doc_dir, os.path.join(ROOT, "src"), os.path.join(ROOT, "www")):
        if any(os.path.exists(os.path.join(base, path + ext)) for ext in ("", ".rs")):
            return True
    # a bare file name, as a list of www/'s files gives them
    return "/" not in path and path in names


def main(argv):
    files = argv or ["README.md", "ARCHITECTURE.md", "TESTING.md"]
    _, names = tracked()
    missing = []
    for doc in files:
        with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
            text = f.read()
        for token in sorted(set(candidates(text))):
            if not exists(token, names, os.path.dirname(os.path.join(ROOT, doc))):
                missing.append(f"{doc}: `{token}`")
    for line in missing:
        print("missing:", line)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

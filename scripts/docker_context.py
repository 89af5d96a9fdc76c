"""Copies the Docker build context to a directory: git's tracked (and untracked, not ignored)
files minus the .dockerignore patterns, matched as Docker does for these simple forms
(a path or directory name, `**/name` anywhere)."""
import fnmatch
import os
import shutil
import subprocess
import sys

destination = sys.argv[1]
patterns = [
    line.strip()
    for line in open(".dockerignore")
    if line.strip() and not line.startswith("#")
]
files = subprocess.run(
    ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
    check=True, capture_output=True, text=True,
).stdout.splitlines()


def ignored(path):
    parts = path.split("/")
    for pattern in patterns:
        if pattern.startswith("**/"):
            name = pattern[3:]
            if any(fnmatch.fnmatch(p, name) for p in parts):
                return True
        elif path == pattern or path.startswith(pattern.rstrip("/") + "/") or fnmatch.fnmatch(path, pattern):
            return True
    return False


kept = [f for f in files if not ignored(f) and os.path.isfile(f)]
for path in kept:
    target = os.path.join(destination, path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(path, target)
print(f"copied {len(kept)} of {len(files)} files into the image context", file=sys.stderr)

"""Writes helm/zendesk-sso-bridge/README.md from values.yaml: every value with the comment above
it, in the file's order (the bridge's settings under env / secretEnv are the .env.example words).
`python3 scripts/chart_readme.py --check` fails when the README is out of date (helm-check runs it)."""
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CHART = os.path.join(ROOT, "helm", "zendesk-sso-bridge")
HEADER = """# zendesk-sso-bridge Helm chart

The Zendesk remote login URL for membership organisations (iMIS or a members file): see the
[project README](../../README.md#deploy-on-kubernetes) for the ten-minute deploy path, and
[CHANGELOG.md](CHANGELOG.md) for upgrade notes. `values.schema.json` refuses unknown keys.

```sh
helm install sso helm/zendesk-sso-bridge -f my-values.yaml
helm test sso
```

This file is generated from `values.yaml` by `scripts/chart_readme.py`; edit the comments there.

## Values

| key | default | description |
|---|---|---|
"""


def rows():
    lines = open(os.path.join(CHART, "values.yaml")).read().splitlines()
    comment, path = [], []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            comment = []
            continue
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip().removeprefix("-- ").strip())
            continue
        indent = len(line) - len(line.lstrip())
        depth = indent // 2
        key, _, value = stripped.partition(":")
        if stripped.startswith("- "):
            continue
        path = path[:depth] + [key]
        value = value.strip()
        if comment and (value or depth == 0):
            text = " ".join(c for c in comment if c).replace("|", "\\|")
            shown = value if value not in ("", "|") else "(see values.yaml)"
            yield ".".join(path), shown.replace("|", "\\|"), text
        comment = []


def render():
    out = HEADER
    for key, value, text in rows():
        out += f"| `{key}` | `{value}` | {text} |\n"
    return out


if __name__ == "__main__":
    target = os.path.join(CHART, "README.md")
    fresh = render()
    if "--check" in sys.argv:
        current = open(target).read() if os.path.exists(target) else ""
        if current != fresh:
            print("helm/zendesk-sso-bridge/README.md is out of date: run python3 scripts/chart_readme.py")
            sys.exit(1)
        print("chart README matches values.yaml")
    else:
        open(target, "w").write(fresh)
        print(f"wrote {target}")

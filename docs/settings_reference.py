"""Writes docs/settings.md from each service's typed settings: every key, its default, whether
it is required, and the comment above its field. `tests/unit/platform/test_settings_reference.py`
fails when the file and the code disagree; run `.venv/bin/python docs/settings_reference.py`."""

import ast
import importlib
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.config import SERVICES  # noqa: E402
from shared.settings import ServiceSettings  # noqa: E402

OUT = ROOT / "docs" / "settings.md"
HEADER = """# Settings

Generated from each service's `settings.py` by `docs/settings_reference.py`; a unit test keeps
it current. Every service reads its settings once at start, from its environment (through
`shared.config.nameko_config`); a missing required key or an invalid value stops it with a
`SettingsError` that names every such key and none of their values. Keys every service reads
(`AMQP_URI`, `DATABASE_URL`, `SYSTEM_DATABASE_URL`, `QUEUE_TYPE`, and `CURSOR_KEY`, the
service's own cursor-signing key, required when `DZDESK_ENV` is production) are described in
the README; where each secret comes from, in deploy/README.md.
"""


def settings_class(service):
    module = importlib.import_module(f"services.{service}.settings")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value.__module__ == module.__name__
    ]
    return module, found[0]


def comments(module, cls):
    """{field name: the comment lines just above it in the class body}."""
    source = pathlib.Path(module.__file__).read_text().splitlines()
    tree = ast.parse("\n".join(source))
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    lines, at = [], item.lineno - 2
                    while at >= 0 and source[at].strip().startswith("#"):
                        lines.insert(0, source[at].strip().lstrip("#").strip())
                        at -= 1
                    found[item.target.id] = " ".join(lines)
    return found


def default_of(field):
    if field.is_required():
        return "required"
    value = field.get_default()
    if value is None or str(value) == "" or value == ():
        return "unset"
    if isinstance(value, tuple):
        return "`" + ",".join(map(str, value)) + "`"
    return f"`{value}`"


def render():
    parts = [HEADER]
    common = set(ServiceSettings.model_fields)
    for service in SERVICES:
        module, cls = settings_class(service)
        said = comments(module, cls)
        parts.append(f"\n## {service}\n\n| key | default | what it sets |\n|---|---|---|\n")
        for name, field in cls.model_fields.items():
            if name in common:
                continue
            key = field.alias or name.upper()
            if not key.isupper():
                continue  # a value a test puts in the container config, never a setting
            text = said.get(name, "").replace("|", "\\|")
            parts.append(f"| `{key}` | {default_of(field)} | {text} |\n")
    return "".join(parts)


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT.relative_to(ROOT)}")

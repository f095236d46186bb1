"""Every service has the one shape: the shared vocabulary, a map of its files, typed settings."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/service.py"))
# what every service has; domain/, application.py and projections.py where it has one
VOCABULARY = ("service.py", "store.py", "schemas.py", "subjects.py", "settings.py")
VOCABULARY += ("events.py", "exceptions.py", "migrations")


def parts(service):
    folder = ROOT / "services" / service
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name not in ("__init__.py", "__pycache__")
        and (p.suffix == ".py" or (p.is_dir() and p.name != "__pycache__"))
    )


def test_the_five_services_are_found():
    assert {"identity", "ticketing", "privacy", "audit", "ai"} <= set(SERVICES)


# services that hold nothing about a person, so no privacy participant: no subjects.py, and
# their map says so
WITHOUT_SUBJECTS = {"integrations"}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_has_the_shared_vocabulary(service):
    if service in WITHOUT_SUBJECTS:
        assert set(VOCABULARY) - {"subjects.py"} <= set(parts(service))
        assert "subjects.py" not in parts(service)
        tree = ast.parse((ROOT / "services" / service / "__init__.py").read_text())
        assert "No subjects.py" in (ast.get_docstring(tree) or "")
    else:
        assert set(VOCABULARY) <= set(parts(service))


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_package_opens_with_a_map_naming_every_file(service):
    tree = ast.parse((ROOT / "services" / service / "__init__.py").read_text())
    map_text = ast.get_docstring(tree) or ""
    folder = ROOT / "services" / service
    spelled = [part + "/" if (folder / part).is_dir() else part for part in parts(service)]
    unnamed = [name for name in spelled if name not in map_text.split()]
    assert not unnamed, f"services/{service}/__init__.py does not name {unnamed}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reads_settings_only_through_its_typed_settings(service):
    readers = []
    for path in (ROOT / "services" / service).rglob("*.py"):
        tree = ast.parse(path.read_text())
        # the container config is handed whole to `<Settings>.load(...)` and read nowhere else
        loaded = {
            id(call.args[0])
            for call in ast.walk(tree)
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "load"
            and call.args
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "config" and id(node) not in loaded:
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not readers, f"config read outside settings: {readers}"

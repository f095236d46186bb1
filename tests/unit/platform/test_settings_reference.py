"""docs/settings.md is what the services' typed settings say: every key, its default."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_the_settings_reference_is_current():
    spec = importlib.util.spec_from_file_location("reference", ROOT / "docs/settings_reference.py")
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)

    assert (ROOT / "docs/settings.md").read_text() == reference.render(), (
        "run .venv/bin/python docs/settings_reference.py"
    )


def test_every_key_a_service_reads_is_in_the_reference():
    from shared.config import SERVICES

    text = (ROOT / "docs/settings.md").read_text()
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.settings")
        for cls in vars(module).values():
            if isinstance(cls, type) and cls.__module__ == module.__name__ and hasattr(cls, "keys"):
                for key in cls.keys():
                    if key.isupper():
                        assert f"`{key}`" in text, (service, key)

"""The repository layout works with the `constructs` library, not against it."""

from __future__ import annotations

import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_constructs_folder_has_no_init_file_that_would_shadow_the_library():
    assert not (ROOT / "constructs" / "__init__.py").exists()


def test_construct_base_class_still_comes_from_the_library():
    import constructs

    library_init = Path(constructs.__file__).resolve()
    assert "site-packages" in library_init.parts
    assert constructs.Construct.__module__.startswith("constructs")


def test_project_modules_import_under_the_constructs_namespace():
    network = importlib.import_module("constructs.network")

    assert Path(network.__file__).resolve().parent == ROOT / "constructs"


def test_product_layout_is_present():
    for name in ("app.py", "cdk.json", "requirements.txt", "README.md"):
        assert (ROOT / name).is_file(), name
    for name in ("stacks", "constructs", "lambda_src", "tests"):
        assert (ROOT / name).is_dir(), name

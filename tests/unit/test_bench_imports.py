"""Every benchmark module imports: `make bench` is not part of the test run, so a renamed service module would
otherwise break it unseen."""

import importlib
import pkgutil

import pytest

import bench

MODULES = sorted(m.name for m in pkgutil.iter_modules(bench.__path__, "bench."))


@pytest.mark.parametrize("name", MODULES)
def test_the_benchmark_module_imports(name: str) -> None:
    importlib.import_module(name)

"""pyproject.toml, environment.yml and binder/environment.yml must name the same packages with the same bounds."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
# Binder's small machines get the CPU-only wheel of the same TensorFlow release.
ALIASES = {"tensorflow-cpu": "tensorflow"}


def requirements_from_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return normalise(lines)


def requirements_from_conda(path):
    lines, inside_pip = [], False
    for raw in path.read_text().splitlines():
        line = raw.split("#")[0].rstrip()
        if re.match(r"^\s+- pip:\s*$", line):
            inside_pip = True
            continue
        if inside_pip and re.match(r"^\s{6,}- ", line):
            lines.append(line.strip()[2:])
    assert lines, f"{path} has no pip: section"
    return normalise(lines)


def normalise(lines):
    result = {}
    for line in lines:
        requirement = Requirement(line)
        name = ALIASES.get(requirement.name.lower(), requirement.name.lower())
        assert name not in result, f"{name} listed twice"
        result[name] = (tuple(sorted(requirement.extras)), str(requirement.specifier))
    return result


def test_environment_files_match_pyproject():
    expected = requirements_from_pyproject()
    for path in (REPO / "environment.yml", REPO / "binder" / "environment.yml"):
        assert requirements_from_conda(path) == expected, path


def test_conda_files_pin_python_311_and_binder_installs_evolab():
    for path in (REPO / "environment.yml", REPO / "binder" / "environment.yml"):
        assert "- python=3.11" in path.read_text()
    post_build = (REPO / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build


def test_python_version_and_license_are_stated_once_and_agree():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"  # the Makefile uses tomllib; the conda files pin 3.11
    assert "Python 3.11 or newer" in (REPO / "README.md").read_text()
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]  # SPDX, not the old table
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))  # not beside an SPDX string


def test_every_declared_package_is_importable():
    import importlib

    modules = {"scikit-learn": "sklearn", "dask": "dask.distributed", "pytest": "pytest", "ipykernel": "ipykernel"}
    for name in requirements_from_pyproject():
        if name == "jupyterlab":
            continue
        importlib.import_module(modules.get(name, name.replace("-", "_")))

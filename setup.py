"""Package discovery only; all metadata is in setup.cfg.

The Alembic migrations stay at the top of the repository (``migrations/``) and ship inside
the package as ``lpms.migrations``, so an installed LPMS (wheel, not editable) can migrate
its database. setup.cfg alone cannot map one sub-package to a folder outside ``lpms/``.
"""
from setuptools import find_namespace_packages, setup

PACKAGES = find_namespace_packages(include=["lpms", "lpms.*", "web", "web.*", "jobs", "jobs.*"],
                                   exclude=["*.__pycache__"])
MIGRATIONS = ["lpms.migrations", "lpms.migrations.versions"]

setup(
    packages=PACKAGES + MIGRATIONS,
    package_dir={"lpms.migrations": "migrations"},
    package_data={
        "lpms": ["py.typed"],
        "lpms.data.demo.paper": ["*.csv"],
        "lpms.data.demo.plant": ["*.csv"],
        "lpms.migrations": ["alembic.ini", "script.py.mako"],
    },
)

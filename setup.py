"""Packaging for cvkit. Metadata lives in settings.ini (nbdev's single config file); read with configparser."""
from configparser import ConfigParser

import setuptools

config = ConfigParser(delimiters=["="])
config.read("settings.ini", encoding="utf-8")
cfg = config["DEFAULT"]

requirements = cfg.get("requirements", "").split()
dev_requirements = cfg.get("dev_requirements", "").split()
slurm_requirements = cfg.get("slurm_requirements", "").split()
console_scripts = cfg.get("console_scripts", "").split()

setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg["author_email"],
    license="Apache-2.0",
    url=cfg["git_url"],
    keywords=cfg["keywords"].split(),
    packages=setuptools.find_packages(include=["cvkit", "cvkit.*"]),
    include_package_data=True,
    python_requires=">=" + cfg["min_python"],
    install_requires=["torch"] + requirements,
    extras_require={"dev": dev_requirements, "slurm": slurm_requirements},
    entry_points={"console_scripts": console_scripts, "nbdev": [f"{cfg['lib_name']}={cfg['lib_name']}._modidx:d"]},
    zip_safe=False,
)

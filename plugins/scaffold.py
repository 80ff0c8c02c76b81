"""``backtest plugins new NAME``: a working plugin folder to start from."""

from __future__ import annotations

import re
from pathlib import Path

from backtest.core.config import PROJECT_ROOT
from backtest.core.errors import BacktestError
from plugins.loader import NAME_PATTERN, PLUGINS_DIR, RESERVED_NAMES, load_all_plugins

TEMPLATES = Path(__file__).resolve().parent / "templates" / "plugin"
PERIOD = 20


def _render(template: Path, name: str) -> str:
    class_name = "".join(part.capitalize() for part in name.split("_"))
    return template.read_text().format(name=name, class_name=class_name, period=PERIOD)


def _enable_in_project(name: str, project_file: Path) -> None:
    """Add ``name: {enabled: true, points: 1}`` under vars.backtest_plugins, keeping comments."""
    text = project_file.read_text()
    block = re.search(r"^  backtest_plugins:\n((?:    .*\n)*)", text, flags=re.MULTILINE)
    if block is None:
        raise BacktestError(f"{project_file} has no vars.backtest_plugins block: add one first.")
    entry = f"    {name}: {{enabled: true, points: 1}}\n"
    project_file.write_text(text[: block.end()] + entry + text[block.end() :])


def new_plugin(
    name: str,
    plugins_dir: Path = PLUGINS_DIR,
    project_file: Path = PROJECT_ROOT / "dbt_project.yml",
) -> Path:
    """Create plugins/<name>/ from the templates and enable it; return the folder."""
    if not NAME_PATTERN.match(name) or name in RESERVED_NAMES:
        raise BacktestError(
            f"Plugin name '{name}' is not allowed: use lower_snake_case (2-40 characters) "
            "that is not a core name."
        )
    folder = plugins_dir / name
    if folder.exists() or name in load_all_plugins():
        raise BacktestError(f"Plugin {name} already exists ({folder}): choose another name.")
    for template in sorted(TEMPLATES.rglob("*.tmpl")):
        relative = template.relative_to(TEMPLATES).with_suffix("")
        target = folder / str(relative).replace("NAME", name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_render(template, name))
    for package in (folder, folder / "tests"):
        (package / "__init__.py").touch()
    _enable_in_project(name, project_file)
    return folder

"""Shared by the benchmarks: the reference packages' own source, and fair timing.

The references (qwen-vl-utils, transformers) import torch at module level, so their pure
functions are compiled from the installed files instead of imported: only the named
top-level functions (and upper-case module constants) run, over ``math``.
"""

from __future__ import annotations

import ast
import glob
import importlib.util
import logging
import math
import os
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["compile_functions", "find_source", "interleaved"]


def find_source(module_file: str, site: str | None) -> Path | None:
    """The installed source of ``pkg/sub/file.py``: under ``site``, on sys.path, or in the
    project's reference venv."""
    roots = [site] if site else []
    roots += [p for p in sys.path if p.endswith("site-packages")]
    roots += sorted(glob.glob("/work/refvenv/lib/python3*/site-packages"))
    for root in roots:
        path = Path(root) / module_file
        if path.is_file():
            return path
    top = module_file.split("/")[0]
    spec = importlib.util.find_spec(top) if top.isidentifier() else None
    if spec and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))).parent / module_file
        if path.is_file():
            return path
    return None


def compile_functions(path: Path, functions: set[str], constants: bool) -> dict[str, Any]:
    """Run the named top-level functions (and module constants) of a source file, without
    running its imports: the functions must be pure Python over ``math``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ns: dict[str, Any] = {
        "math": math,
        "os": os,
        "logger": logging.getLogger("bench.ref"),
        **{k: getattr(typing, k) for k in typing.__all__},
    }
    for node in tree.body:
        is_const = (
            constants
            and isinstance(node, ast.Assign)
            and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)
        )
        if not (is_const or (isinstance(node, ast.FunctionDef) and node.name in functions)):
            continue
        code = compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec")
        try:
            exec(code, ns)  # the reference package's own source
        except NameError:
            if not is_const:
                raise
            # A constant built from something not loaded here (the video reader table).
    missing = functions - set(ns)
    if missing:
        raise LookupError(f"{path}: no {sorted(missing)}")
    return ns


def interleaved(
    fns: list[Callable[[], object]], repeat: int, clock: Callable[[], float]
) -> list[float]:
    """Best time of each function over ``repeat`` rounds, the functions taking turns in
    every round (so a burst of load on a shared machine hits them alike). One untimed
    round first: the first touch of fresh memory costs far more than later ones here (a
    VM), and it is not what a long-running process pays."""
    best = [math.inf] * len(fns)
    for r in range(repeat + 1):
        for i, fn in enumerate(fns):
            t0 = clock()
            fn()
            if r:
                best[i] = min(best[i], clock() - t0)
    return best

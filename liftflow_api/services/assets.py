"""Local assets under DATASETS_ROOT: listing and safe resolution (never outside the root)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from fastapi import HTTPException

from liftflow.bench.dataset import inside as _inside
from liftflow.config import SUPPORTED_FORMATS
from liftflow.errors import InputError

ASSET_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def require_root(root: Path) -> Path:
    """``root`` when it is a folder; 503 otherwise (the server is not set up for local assets)."""
    if not root.is_dir():
        # no path to clients: /api/v1/info (operators, behind the API key) shows it
        raise HTTPException(503, detail="DATASETS_ROOT is not configured or does not exist on the server "
                                        "(operators find its path in api/v1/info, assets.root)")
    return root


def resolve_asset(root: Path, asset_id: Optional[str], asset_path: Optional[str]) -> Path:
    """The video file for asset_id (a filename stem, or a file name with its extension as the
    original server also took: ``snatch_001.mp4``) or asset_path (relative to the root)."""
    require_root(root)
    if asset_id:
        if not ASSET_ID_RE.match(asset_id) or ".." in asset_id:
            raise HTTPException(404, detail=f"asset_id {asset_id!r} not found in DATASETS_ROOT")
        names = [f"{asset_id}{ext}" for ext in SUPPORTED_FORMATS]
        if Path(asset_id).suffix.lower() in SUPPORTED_FORMATS:
            names.insert(0, asset_id)
        for name in names:
            p = root / name
            if p.is_file() and _inside(root, p):
                return p.resolve()
        raise HTTPException(404, detail=f"asset_id {asset_id!r} not found in DATASETS_ROOT")
    if asset_path:
        if "\x00" in asset_path or "%" in asset_path:
            raise HTTPException(404, detail="asset_path not found in DATASETS_ROOT")
        p = Path(asset_path)
        p = p if p.is_absolute() else root / p
        if not _inside(root, p) or not p.resolve().is_file():
            raise HTTPException(404, detail="asset_path not found in DATASETS_ROOT")
        if p.suffix.lower() not in SUPPORTED_FORMATS:
            raise HTTPException(400, detail=f"Invalid file extension {p.suffix!r}")
        return p.resolve()
    raise InputError("local_asset needs asset_id (or asset_path)")


def list_assets(root: Path) -> list[dict]:
    """The videos directly in ``root`` (names and sizes, no paths)."""
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        if p.is_file() and p.suffix.lower() in SUPPORTED_FORMATS and _inside(root, p):
            out.append({"asset_id": p.stem, "filename": p.name,
                        "size_mb": round(p.stat().st_size / (1024 * 1024), 1)})
    return out

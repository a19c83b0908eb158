"""Benchmark datasets: clips under a root folder, a manifest, optional ground truth per case.

A dataset is a folder (``DATASETS_ROOT`` by default) holding ``manifest.csv`` and the files
it names. Two manifest formats are read:

LiftFlow format (one row per case)::

    case_id,asset,seed_frame,disc_center_x,disc_center_y,disc_radius,lift_type,expected_reps,tags,gt,velocity_ref,load_kg

- ``case_id`` (required): ``[A-Za-z0-9][A-Za-z0-9._-]*``, unique.
- ``asset`` (required): the video, relative to the root (or absolute inside it).
- ``disc_center_x, disc_center_y, disc_radius``: the seed circle; all three or none
  (none = automatic plate detection). ``seed_frame`` defaults to 0.
- ``lift_type``: squat | snatch | clean | clean_and_jerk | deadlift | bench (optional).
- ``expected_reps``: ``3`` or a range ``3-4`` (optional).
- ``tags``: a JSON object ``{"env": "indoor"}`` or ``env=indoor;disc=black`` (optional).
- ``gt``: keyframe plate centres, ``frame,x,y,r[,r_minor][,visibility]`` like
  ``../shared/data/real/*.gt.csv`` (optional; ``<asset stem>.gt.csv`` beside the asset is
  used when the column is empty and that file exists).
- ``velocity_ref``: reference velocities (optional): per frame ``frame,vy_m_s[,vx_m_s]``
  (y up, m/s) or per rep ``rep,mean_concentric_velocity_m_s[,peak_concentric_velocity_m_s]``.
- ``load_kg``: the total mass on the bar, bar included (optional; empty: assumed, as for an
  upload without it). The real-clip format reads a ``load_kg`` column too when it has one.

Real-clip format (``../shared/data/real/manifest.csv`` as is): ``id, file, lift, view,
..., seed_frame, disc_center_x, disc_center_y, disc_radius, gt, ...``; the lift type and
the expected reps are read from ``lift`` ("back squat, 3-4 reps" -> squat, 3 to 4;
a snatch, clean or clean and jerk is one rep), tags are ``lift`` and ``view``.

Every path must resolve inside the root. :func:`load_dataset` reports every problem it
finds at once, one line each, prefixed by the manifest line number.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from liftflow.errors import DatasetError  # re-exported
from liftflow.config import SUPPORTED_FORMATS
from liftflow.physics.params import LIFT_TYPES, check_load_kg
from liftflow.tracking.registry import DEFAULT_BACKEND

MANIFEST = "manifest.csv"
CASE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
GT_REQUIRED = ("frame", "x", "y", "r")
VISIBILITIES = ("visible", "partial", "absent")

LIFTFLOW_REQUIRED = ("case_id", "asset")
REAL_REQUIRED = ("id", "file", "disc_center_x", "disc_center_y", "disc_radius")


@dataclass
class Case:
    case_id: str
    asset: str  # as written in the manifest
    video_path: str  # absolute, inside the root
    seed_frame: int = 0
    disc_center_x: Optional[float] = None
    disc_center_y: Optional[float] = None
    disc_radius: Optional[float] = None
    lift_type: Optional[str] = None
    expected_reps: Optional[list[int]] = None  # [n] or [lo, hi]
    tags: dict = field(default_factory=dict)
    gt_path: Optional[str] = None
    velocity_ref_path: Optional[str] = None
    load_kg: Optional[float] = None  # total on the bar; None: assumed

    @property
    def has_seed(self) -> bool:
        return self.disc_radius is not None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Case":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})

    def lift_request(self, backend: str = DEFAULT_BACKEND, seed_offset_px: float = 0.0,
                     seed_radius_scale: float = 1.0, **overrides: Any) -> dict:
        """The LiftRequest fields of this case (without job_id/job_dir/video_path)."""
        req: dict = {"seed_frame": int(self.seed_frame), "backend": backend,
                     "lift_type": self.lift_type}
        if self.load_kg is not None:
            req["load_kg"] = float(self.load_kg)
        if self.has_seed:
            req.update(disc_center_x=float(self.disc_center_x) + float(seed_offset_px),
                       disc_center_y=float(self.disc_center_y),
                       disc_radius=float(self.disc_radius) * float(seed_radius_scale))
        req.update({k: v for k, v in overrides.items() if v is not None})
        return req


@dataclass
class Dataset:
    root: str
    format: str  # "liftflow" | "real"
    cases: list[Case]
    manifest_sha1: str

    def case(self, case_id: str) -> Case:
        for c in self.cases:
            if c.case_id == case_id:
                return c
        known = ", ".join(c.case_id for c in self.cases[:20])
        raise DatasetError(f"case {case_id!r} is not in the manifest (known: {known})",
                           str(Path(self.root) / MANIFEST))

    def to_dict(self) -> dict:
        return {"root": self.root, "format": self.format, "manifest_sha1": self.manifest_sha1,
                "cases": [c.to_dict() for c in self.cases]}


# ------------------------------------------------------------------------ helpers

def inside(root: Path, p: Path) -> bool:
    try:
        p.resolve().relative_to(Path(root).resolve())
        return True
    except (ValueError, OSError):
        return False


def resolve_in_root(root: Path, rel: str, what: str) -> Path:
    """``rel`` (relative to root, or absolute) as an absolute path inside root, or DatasetError."""
    if rel is None or str(rel).strip() == "":
        raise DatasetError(f"{what}: empty path")
    rel = str(rel).strip()
    if "\x00" in rel:
        raise DatasetError(f"{what}: invalid path {rel!r}")
    p = Path(rel)
    p = p if p.is_absolute() else Path(root) / p
    if not inside(root, p):
        raise DatasetError(f"{what} {rel!r} resolves outside the dataset root {root}")
    p = p.resolve()
    if not p.is_file():
        raise DatasetError(f"{what} {rel!r} not found ({p})")
    return p


def parse_lift_text(text: str) -> tuple[Optional[str], Optional[list[int]]]:
    """'back squat, 3-4 reps' -> ('squat', [3, 4]); 'clean' -> ('clean', [1])."""
    t = (text or "").strip().lower()
    if "jerk" in t:
        lt = "clean_and_jerk"
    elif "snatch" in t:
        lt = "snatch"
    elif "clean" in t:
        lt = "clean"
    elif "squat" in t:
        lt = "squat"
    elif "deadlift" in t:
        lt = "deadlift"
    elif "bench" in t:
        lt = "bench"
    else:
        lt = None
    m = re.search(r"(\d+)\s*(?:-|–|to)\s*(\d+)\s*rep", t)
    if m:
        return lt, [int(m.group(1)), int(m.group(2))]
    m = re.search(r"(\d+)\s*rep", t)
    if m:
        return lt, [int(m.group(1))]
    return lt, ([1] if lt in ("snatch", "clean", "clean_and_jerk") else None)


def parse_expected_reps(v: Any) -> Optional[list[int]]:
    if v is None or (isinstance(v, str) and v.strip() == ""):
        return None
    if isinstance(v, (list, tuple)):
        if any(isinstance(x, float) and not math.isfinite(x) for x in v):
            raise ValueError(f"expected_reps must be whole numbers (got {v!r})")
        vals = [int(x) for x in v]
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        if not math.isfinite(v) or float(v) != int(v):
            raise ValueError(f"expected_reps must be a whole number (got {v!r})")
        vals = [int(v)]
    else:
        s = str(v).strip()
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", s)
        if m:
            vals = [int(m.group(1)), int(m.group(2))]
        elif re.fullmatch(r"\d+", s):
            vals = [int(s)]
        else:
            raise ValueError(f"expected_reps must be a whole number like 3 or a range like 3-4 (got {s!r})")
    if len(vals) not in (1, 2) or any(x < 0 for x in vals) or (len(vals) == 2 and vals[0] > vals[1]):
        raise ValueError(f"expected_reps must be >= 0 and a range low-high (got {v!r})")
    return vals


def parse_tags(v: Any, *, max_tags: int = 50, max_len: int = 256) -> dict:
    """Tags as ``{str: str}`` from a dict, a JSON object ``{"env": "indoor"}`` or
    ``env=indoor;disc=black`` (``|`` also separates); empty or None gives ``{}``. The one
    parser of the field: manifests and the API's ``tags`` form field. ValueError with the
    reason when it is neither form, a value is a list or object, there are more than
    ``max_tags`` tags, or a key or value is longer than ``max_len`` characters."""
    if v is None:
        return {}
    if isinstance(v, dict):
        out = v
    else:
        s = str(v).strip()
        if not s:
            return {}
        if s.startswith("{"):
            try:
                out = json.loads(s)
            except json.JSONDecodeError as exc:
                raise ValueError(f'tags: invalid JSON object like {{"env": "indoor"}} ({exc.msg})')
            if not isinstance(out, dict):
                raise ValueError("tags: must be a JSON object")
        else:
            out = {}
            for part in re.split(r"[;|]", s):
                part = part.strip()
                if not part:
                    continue
                if "=" not in part:
                    raise ValueError(f"tags: {part[:40]!r} is not key=value (use env=indoor;disc=black or a JSON object)")
                k, val = part.split("=", 1)
                out[k.strip()] = val.strip()
    if len(out) > max_tags:
        raise ValueError(f"tags: at most {max_tags} tags are allowed (got {len(out)})")
    for k, val in out.items():
        if isinstance(val, (dict, list)):
            raise ValueError(f"tags: value of {str(k)[:40]!r} must be a string or number")
        if len(str(k)) > max_len or len(str(val)) > max_len:
            raise ValueError(f"tags: {str(k)[:40]!r}: keys and values are limited to {max_len} characters")
    # JSON's spelling for non-strings (true, not Python's True): tags are strings on the wire
    return {str(k): val if isinstance(val, str) else json.dumps(val) for k, val in out.items()}


def _num(v: Any, name: str) -> Optional[float]:
    from liftflow.numeric import finite_number

    return finite_number(v, name)


def check_seed(x: Any, y: Any, r: Any, frame: Any) -> tuple[Optional[float], Optional[float], Optional[float], int]:
    """Seed circle fields as numbers (``liftflow.tracking.seed.read_seed``); ValueError otherwise."""
    from liftflow.tracking.seed import read_seed

    return read_seed(x, y, r, frame)


# ------------------------------------------------------------------- ground truth

def _gt_rows_from_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in GT_REQUIRED if c not in cols]
        if missing:
            raise DatasetError(f"missing column(s) {', '.join(missing)} (found: {', '.join(cols) or 'none'}; "
                               f"expected frame,x,y,r[,r_minor][,visibility])", str(path))
        return [{(k or "").strip(): v for k, v in row.items()} for row in reader]


def load_ground_truth(source: Union[str, Path, list[dict]], where: str = "ground truth",
                      equivalent_radius: bool = True) -> list[dict]:
    """Keyframes ``{frame, x, y, r, visibility}`` (r = sqrt(r * r_minor) for an ellipse).

    ``source`` is a CSV path or a list of row dicts (numbers or strings). Raises
    DatasetError listing every bad row. The one reader of keyframe files: scoring, the
    tracking benchmark and the pose benchmark all read them here. ``equivalent_radius=False``
    keeps ``r`` as written (the pose benchmark hands the drawn plate size to the pose step).
    """
    if isinstance(source, (str, Path)):
        where = str(source)
        p = Path(source)
        if not p.is_file():
            raise DatasetError(f"ground-truth file not found: {p}")
        rows = _gt_rows_from_csv(p)
        first_line = 2
    else:
        if not isinstance(source, list) or not all(isinstance(r, dict) for r in source):
            raise DatasetError("ground truth must be a list of objects {frame, x, y, r[, r_minor][, visibility]}", where)
        rows = source
        first_line = 0
    problems, out, seen = [], [], set()
    for i, row in enumerate(rows):
        lab = f"line {i + first_line}" if first_line else f"row {i}"
        try:
            if "frame" not in row:
                raise ValueError("missing 'frame'")
            fr = _num(row.get("frame"), "frame")
            if fr is None or fr < 0 or fr != int(fr):
                raise ValueError(f"frame must be a whole number >= 0 (got {row.get('frame')!r})")
            fr = int(fr)
            if fr in seen:
                raise ValueError(f"frame {fr} appears twice")
            seen.add(fr)
            vis = str(row.get("visibility") or "visible").strip().lower()
            if vis not in VISIBILITIES:
                raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)} (got {row.get('visibility')!r})")
            k = {"frame": fr, "visibility": vis, "x": None, "y": None, "r": None}
            if vis != "absent":
                x, y, r = _num(row.get("x"), "x"), _num(row.get("y"), "y"), _num(row.get("r"), "r")
                if x is None or y is None or r is None:
                    raise ValueError(f"x, y and r are required where the plate is {vis}")
                if r <= 0:
                    raise ValueError(f"r must be positive (got {row.get('r')!r})")
                rm = _num(row.get("r_minor"), "r_minor")
                if rm is not None:
                    if rm <= 0:
                        raise ValueError(f"r_minor must be positive (got {row.get('r_minor')!r})")
                    if equivalent_radius:
                        r = math.sqrt(r * rm)
                k.update(x=x, y=y, r=r)
            out.append(k)
        except ValueError as exc:
            problems.append(f"{lab}: {exc}")
    if problems:
        raise DatasetError(problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else []), where)
    if not out:
        raise DatasetError("no keyframes", where)
    out.sort(key=lambda k: k["frame"])
    return out


def load_velocity_ref(source: Union[str, Path, list[dict]], where: str = "velocity reference") -> dict:
    """``{"kind": "frames", "frames": [...], "vy": [...], "vx": [... or None]}`` or
    ``{"kind": "reps", "reps": [{"rep", "mean", "peak"}]}``."""
    if isinstance(source, (str, Path)):
        where = str(source)
        p = Path(source)
        if not p.is_file():
            raise DatasetError(f"velocity reference not found: {p}")
        with open(p, newline="", encoding="utf-8") as fh:
            rows = [{(k or "").strip(): v for k, v in r.items()} for r in csv.DictReader(fh)]
    else:
        rows = list(source or [])
    if not rows:
        raise DatasetError("no rows", where)
    cols = set(rows[0])
    problems = []
    if "rep" in cols:
        if "mean_concentric_velocity_m_s" not in cols and "peak_concentric_velocity_m_s" not in cols:
            raise DatasetError("per-rep references need mean_concentric_velocity_m_s and/or "
                               "peak_concentric_velocity_m_s", where)
        reps = []
        for i, r in enumerate(rows):
            try:
                reps.append({"rep": int(_num(r.get("rep"), "rep")),
                             "mean": _num(r.get("mean_concentric_velocity_m_s"), "mean_concentric_velocity_m_s"),
                             "peak": _num(r.get("peak_concentric_velocity_m_s"), "peak_concentric_velocity_m_s")})
            except (ValueError, TypeError) as exc:
                problems.append(f"row {i}: {exc}")
        if problems:
            raise DatasetError(problems, where)
        return {"kind": "reps", "reps": sorted(reps, key=lambda r: r["rep"])}
    if "frame" not in cols or "vy_m_s" not in cols:
        raise DatasetError(f"missing column(s): need frame,vy_m_s[,vx_m_s] or rep,mean_concentric_velocity_m_s "
                           f"(found: {', '.join(sorted(cols))})", where)
    frames, vy, vx = [], [], []
    for i, r in enumerate(rows):
        try:
            frames.append(int(_num(r.get("frame"), "frame")))
            v = _num(r.get("vy_m_s"), "vy_m_s")
            if v is None:
                raise ValueError("vy_m_s is empty")
            vy.append(v)
            vx.append(_num(r.get("vx_m_s"), "vx_m_s") if "vx_m_s" in r else None)
        except (ValueError, TypeError) as exc:
            problems.append(f"row {i}: {exc}")
    if problems:
        raise DatasetError(problems[:20], where)
    return {"kind": "frames", "frames": frames, "vy": vy,
            "vx": vx if all(v is not None for v in vx) else None}


# ------------------------------------------------------------------- manifests

def read_manifest_rows(path: Path) -> tuple[list[str], list[dict]]:
    """The columns and rows of a manifest CSV, names and values stripped: every manifest
    (a dataset's, the real clips') is read here."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        rows = [{(k or "").strip(): (v.strip() if isinstance(v, str) else v) for k, v in r.items()}
                for r in reader]
    return cols, rows


def load_real_manifest(real_dir: Union[str, Path]) -> list[dict]:
    """The rows of the real clips' ``manifest.csv`` as written (``id, file, lift, ..., gt``),
    for the benchmarks that need its raw columns; FileNotFoundError when it is missing."""
    path = Path(real_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"real-clip manifest not found: {path}")
    return read_manifest_rows(path)[1]


def _real_row(root: Path, row: dict) -> tuple[dict, list[str]]:
    lt, reps = parse_lift_text(row.get("lift") or "")
    tags = {}
    if lt:
        tags["lift"] = lt
    if (row.get("view") or "").strip():
        tags["view"] = row["view"].strip()
    return {"case_id": (row.get("id") or "").strip(), "asset": (row.get("file") or "").strip(),
            "seed_frame": row.get("seed_frame"), "disc_center_x": row.get("disc_center_x"),
            "disc_center_y": row.get("disc_center_y"), "disc_radius": row.get("disc_radius"),
            "lift_type": lt, "expected_reps": reps, "tags": tags, "gt": (row.get("gt") or "").strip(),
            "velocity_ref": (row.get("velocity_ref") or "").strip(), "load_kg": row.get("load_kg")}, []


def case_from_fields(root: Path, f: dict) -> Case:
    """A validated Case from manifest-like fields; DatasetError listing every problem otherwise."""
    root = Path(root)
    problems: list[str] = []
    cid = str(f.get("case_id") or "").strip()
    if not cid:
        problems.append("case_id is empty")
    elif not CASE_ID_RE.match(cid):
        problems.append(f"case_id {cid!r} may only use letters, digits, '.', '_' and '-' (at most 128)")
    asset = str(f.get("asset") or "").strip()
    video = None
    if not asset:
        problems.append("asset is empty")
    else:
        try:
            video = resolve_in_root(root, asset, "asset")
            if video.suffix.lower() not in SUPPORTED_FORMATS:
                problems.append(f"asset {asset!r}: not a video file (supported: {', '.join(SUPPORTED_FORMATS)})")
        except DatasetError as exc:
            problems.append(str(exc))
    seed = (None, None, None, 0)
    try:
        seed = check_seed(f.get("disc_center_x"), f.get("disc_center_y"), f.get("disc_radius"), f.get("seed_frame"))
    except ValueError as exc:
        problems.append(f"seed: {exc}")
    lt = f.get("lift_type")
    lt = str(lt).strip().lower() if lt not in (None, "") else None
    if lt is not None and lt not in LIFT_TYPES:
        problems.append(f"lift_type {lt!r} is not one of {', '.join(LIFT_TYPES)}")
    reps = None
    try:
        reps = parse_expected_reps(f.get("expected_reps"))
    except ValueError as exc:
        problems.append(str(exc))
    load_kg = None
    try:
        load_kg = check_load_kg(f.get("load_kg"))
    except ValueError as exc:
        problems.append(str(exc))
    tags = {}
    try:
        tags = parse_tags(f.get("tags"))
    except ValueError as exc:
        problems.append(str(exc))
    def readable(path_of, load) -> Optional[Path]:
        """``path_of()`` when ``load`` reads it, else None with the problem noted."""
        try:
            path = path_of()
            load(path)
            return path
        except DatasetError as exc:
            problems.append(str(exc).replace("\n", "\n    "))
            return None

    gt_path = None
    gt = str(f.get("gt") or "").strip()
    if gt:
        gt_path = readable(lambda: resolve_in_root(root, gt, "gt"), load_ground_truth)
    elif video is not None:
        beside = video.with_name(video.stem + ".gt.csv")
        if beside.is_file() and inside(root, beside):
            gt_path = readable(beside.resolve, load_ground_truth)
    vel_path = None
    vref = str(f.get("velocity_ref") or "").strip()
    if vref:
        vel_path = readable(lambda: resolve_in_root(root, vref, "velocity_ref"), load_velocity_ref)
    if problems:
        raise DatasetError(problems, f"case {cid or '?'}")
    return Case(case_id=cid, asset=asset, video_path=str(video), seed_frame=seed[3],
                disc_center_x=seed[0], disc_center_y=seed[1], disc_radius=seed[2], lift_type=lt,
                expected_reps=reps, tags=tags, gt_path=str(gt_path) if gt_path else None,
                velocity_ref_path=str(vel_path) if vel_path else None, load_kg=load_kg)


def load_dataset(root: Union[str, Path], manifest: str = MANIFEST) -> Dataset:
    """Read and validate ``root/manifest.csv`` (either format). DatasetError lists every problem."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"dataset root {root} does not exist or is not a folder")
    root = root.resolve()
    mpath = root / manifest
    if not mpath.is_file():
        raise DatasetError(f"no {manifest} in the dataset root {root} (see liftflow/bench/dataset.py for the format)")
    raw = mpath.read_bytes()
    cols, rows = read_manifest_rows(mpath)
    if set(REAL_REQUIRED) <= set(cols) and "case_id" not in cols:
        fmt = "real"
    else:
        fmt = "liftflow"
        missing = [c for c in LIFTFLOW_REQUIRED if c not in cols]
        if missing:
            raise DatasetError(
                f"missing column(s) {', '.join(missing)} (found: {', '.join(cols) or 'none'}); a LiftFlow "
                f"manifest needs case_id,asset[,seed_frame,disc_center_x,disc_center_y,disc_radius,lift_type,"
                f"expected_reps,tags,gt,velocity_ref], a real-clip manifest id,file,...,disc_center_x,"
                f"disc_center_y,disc_radius,gt", str(mpath))
    problems: list[str] = []
    cases: list[Case] = []
    seen: dict[str, int] = {}
    if not rows:
        problems.append("the manifest has no cases")
    for i, row in enumerate(rows, start=2):
        if not any((v or "").strip() if isinstance(v, str) else v for v in row.values()):
            continue  # blank line
        fields = _real_row(root, row)[0] if fmt == "real" else row
        try:
            c = case_from_fields(root, fields)
        except DatasetError as exc:
            problems.append(f"line {i}: {exc}")
            continue
        if c.case_id in seen:
            problems.append(f"line {i}: case_id {c.case_id!r} already used on line {seen[c.case_id]}")
            continue
        seen[c.case_id] = i
        cases.append(c)
    if problems:
        raise DatasetError(problems, str(mpath))
    return Dataset(root=str(root), format=fmt, cases=cases, manifest_sha1=hashlib.sha1(raw).hexdigest())


def write_manifest(root: Union[str, Path], cases: list[dict]) -> Path:
    """Write a LiftFlow-format manifest.csv from dicts (keys as the columns); returns its path."""
    cols = ["case_id", "asset", "seed_frame", "disc_center_x", "disc_center_y", "disc_radius",
            "lift_type", "expected_reps", "tags", "gt", "velocity_ref"]
    if any(c.get("load_kg") is not None for c in cases):  # the column only where used
        cols.append("load_kg")
    path = Path(root) / MANIFEST
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for c in cases:
            row = {}
            for k in cols:
                v = c.get(k)
                if isinstance(v, dict):
                    v = json.dumps(v)
                elif isinstance(v, (list, tuple)):
                    v = "-".join(str(x) for x in v)
                row[k] = "" if v is None else v
            w.writerow(row)
    return path


def velocity_ref_from_truth(truth, path: Union[str, Path]) -> Path:
    """Write a per-frame velocity reference (frame,vy_m_s,vx_m_s) from a liftflow.synth GroundTruth."""
    path = Path(path)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["frame", "vy_m_s", "vx_m_s"])
        vx = truth.vx_m_s or [None] * len(truth.frames)
        for f, vy, x in zip(truth.frames, truth.vy_m_s, vx):
            w.writerow([f, f"{vy:.5f}", "" if x is None else f"{x:.5f}"])
    return path

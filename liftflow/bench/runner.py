"""Running a benchmark dataset from its manifest: the LiftRequest of a case, a REST batch
validated into cases, scores against a case's ground truth, and the external runner over
HTTP (BENCHMARK_API.md section H, ``liftflow bench run``).

Dataset-only on purpose (no Dagster): queuing cases as runs and the in-process sweep are in
:mod:`liftflow.orchestration.cases`. Every path runs a case with the same LiftRequest
(:func:`case_request`), so the stack sweep, the HTTP runner and the in-process sweep give
the same per-case numbers for the same data.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

from liftflow.bench.dataset import Case, Dataset, DatasetError, case_from_fields, load_dataset
from liftflow.tracking.registry import DEFAULT_BACKEND

CASE_TAG = "case_id"
MAX_BATCH = 500


@dataclass
class RunOptions:
    """What a sweep varies: the backend and (for regression drills) a perturbed seed."""

    backend: str = DEFAULT_BACKEND
    seed_offset_px: float = 0.0  # added to the seed centre x (a deliberately degraded setting)
    seed_radius_scale: float = 1.0  # multiplies the seed radius
    plate_diameter_m: Optional[float] = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {"backend": self.backend}
        if self.seed_offset_px:
            d["seed_offset_px"] = self.seed_offset_px
        if self.seed_radius_scale != 1.0:
            d["seed_radius_scale"] = self.seed_radius_scale
        if self.plate_diameter_m is not None:
            d["plate_diameter_m"] = self.plate_diameter_m
        d.update(self.extra)
        return d


def case_request(case: Case, opts: Optional[RunOptions] = None) -> dict:
    """The LiftRequest fields of one case (everything but job_id, job_dir, video_path)."""
    opts = opts or RunOptions()
    req = case.lift_request(backend=opts.backend, seed_offset_px=opts.seed_offset_px,
                            seed_radius_scale=opts.seed_radius_scale,
                            plate_diameter_m=opts.plate_diameter_m, **opts.extra)
    req.setdefault("pose_backend", "off")
    req.setdefault("enable_person_detection", False)
    return req


# ----------------------------------------------------------------- REST helpers

def batch_cases(payload: dict, datasets_root: Union[str, Path]) -> list[Case]:
    """Validate a POST /bench/run_batch body into cases; DatasetError (-> 422) lists every problem.

    Body: ``{"case_ids": ["a", "b"]}`` or ``{"all_cases": true}`` (from DATASETS_ROOT/manifest.csv)
    or ``{"cases": [{"case_id", "asset_id" | "asset_path", "disc_center_x", "disc_center_y",
    "disc_radius", "seed_frame", "lift_type", "load_kg", "expected_reps", "tags", "gt"}, ...]}``.
    Optional at the top: ``client_run_id``, ``backend`` (read by the route).
    """
    from liftflow.config import SUPPORTED_FORMATS

    if not isinstance(payload, dict):
        raise DatasetError("the body must be a JSON object with case_ids, all_cases or cases")
    root = Path(datasets_root)
    given = [k for k in ("case_ids", "all_cases", "cases") if payload.get(k)]
    if len(given) != 1:
        raise DatasetError("give exactly one of case_ids (ids from the dataset manifest), all_cases: true, "
                           "or cases (a list of case objects)")
    if given[0] in ("case_ids", "all_cases"):
        ds = load_dataset(root)
        if given[0] == "all_cases":
            cases = ds.cases
        else:
            ids = payload["case_ids"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise DatasetError("case_ids must be a list of strings")
            known = {c.case_id: c for c in ds.cases}
            unknown = [i for i in ids if i not in known]
            if unknown:
                raise DatasetError(f"case id(s) not in the manifest: {', '.join(unknown[:20])}")
            cases = [known[i] for i in ids]
    else:
        items = payload["cases"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise DatasetError("cases must be a list of objects")
        problems, cases = [], []
        for i, it in enumerate(items):
            f = dict(it)
            if not f.get("asset") and f.get("asset_path"):
                f["asset"] = f["asset_path"]
            if not f.get("asset") and f.get("asset_id"):
                aid = str(f["asset_id"])
                hit = [f"{aid}{ext}" for ext in SUPPORTED_FORMATS if (root / f"{aid}{ext}").is_file()]
                f["asset"] = hit[0] if hit and "/" not in aid and ".." not in aid else f"{aid}.mp4"
            f.setdefault("case_id", Path(str(f.get("asset") or f"case{i}")).stem)
            try:
                cases.append(case_from_fields(root, f))
            except DatasetError as exc:
                problems.append(f"cases[{i}]: {exc}")
        if problems:
            raise DatasetError(problems)
        dup = {c.case_id for c in cases if sum(1 for d in cases if d.case_id == c.case_id) > 1}
        if dup:
            raise DatasetError(f"duplicate case_id(s): {', '.join(sorted(dup))}")
    if not cases:
        raise DatasetError("no cases to run")
    if len(cases) > MAX_BATCH:
        raise DatasetError(f"at most {MAX_BATCH} cases per batch (got {len(cases)})")
    return cases


def compare_with_case(job_result: dict, datasets_root: Union[str, Path], case_id: str) -> dict:
    """POST /bench/compare with a case id: score against that manifest case's ground truth."""
    from liftflow.bench.scoring import compare

    case = load_dataset(datasets_root).case(case_id)
    if not case.gt_path:
        raise DatasetError(f"case {case_id!r} has no ground truth (no gt column and no "
                           f"{Path(case.asset).stem}.gt.csv beside the asset)")
    return compare(job_result, case.gt_path, case)


def new_sweep_id(prefix: str = "sweep") -> str:
    import secrets
    from datetime import datetime, timezone

    return f"{prefix}-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


# ----------------------------------------------------------------- over HTTP (section H)

def run_http(server: str, dataset: Dataset, opts: Optional[RunOptions] = None, client_run_id: Optional[str] = None,
             mode: str = "auto", batch: bool = False, poll_s: float = 1.0, timeout_s: float = 1800.0,
             echo: Optional[Callable[[str], None]] = None) -> list[dict]:
    """The external runner loop: submit each case (run_one, or run_batch when ``batch``), poll,
    fetch results, score against the local ground truth. ``mode``: local_asset | upload | auto
    (local_asset when the server's DATASETS_ROOT is this dataset's root)."""
    import httpx

    from liftflow.bench.scoring import compare, failed_case

    opts = opts or RunOptions()
    client_run_id = client_run_id or new_sweep_id("run")
    base = server.rstrip("/")
    rows = []
    with httpx.Client(base_url=base, timeout=120) as http:
        info = http.get("/api/v1/info").json()
        root = (info.get("assets") or {}).get("root")
        if mode == "auto":
            same = root is not None and Path(root).resolve() == Path(dataset.root).resolve()
            mode = "local_asset" if same else "upload"
        jobs: dict[str, str] = {}
        if batch:
            body = {"client_run_id": client_run_id, "backend": opts.backend,
                    "cases": [_case_form(c, dataset, opts, client_run_id) for c in dataset.cases]}
            r = http.post("/api/v1/bench/run_batch", json=body)
            if r.status_code in (404, 405):
                batch = False  # an older server: one case per request
            elif r.status_code >= 400:
                raise RuntimeError(f"run_batch refused ({r.status_code}): {r.text[:500]}")
            else:
                data = r.json()
                for j in data.get("jobs", data if isinstance(data, list) else []):
                    jobs[j["case_id"]] = j["job_id"]
        if not batch:
            for c in dataset.cases:
                form = {k: (json.dumps(v) if isinstance(v, dict) else str(v))
                        for k, v in _case_form(c, dataset, opts, client_run_id).items() if v is not None}
                if mode == "upload":
                    form["video_source_type"] = "upload"
                    form.pop("asset_path", None)
                    with open(c.video_path, "rb") as fh:
                        r = http.post("/api/v1/bench/run_one", data=form,
                                      files={"file": (Path(c.video_path).name, fh, "video/mp4")})
                else:
                    r = http.post("/api/v1/bench/run_one", data=form)
                if r.status_code >= 400:
                    rows.append(failed_case(c, f"submit refused ({r.status_code}): {r.text[:300]}"))
                    continue
                jobs[c.case_id] = r.json()["job_id"]
        for c in dataset.cases:
            jid = jobs.get(c.case_id)
            if jid is None:
                continue
            deadline = time.monotonic() + timeout_s
            st = {}
            while time.monotonic() < deadline:
                st = http.get(f"/api/v1/videos/{jid}/status").json()
                if st.get("status") in ("completed", "failed"):
                    break
                time.sleep(poll_s)
            if st.get("status") != "completed":
                row = failed_case(c, st.get("error") or st.get("message") or f"status {st.get('status')}", jid)
            else:
                res = http.get(f"/api/v1/videos/{jid}/results").json()
                try:
                    row = compare(res, None, c)
                    row.update(status="ok", error=None)
                except DatasetError as exc:
                    row = failed_case(c, f"scoring: {exc}", jid)
            row["job_id"] = jid
            rows.append(row)
            if echo:
                echo(f"{c.case_id}: {row.get('status')} median {row.get('median_pct')}% lost kf "
                     f"{row.get('lost_keyframes')} (job {jid})")
    order = {c.case_id: i for i, c in enumerate(dataset.cases)}
    rows.sort(key=lambda r: order.get(r["case_id"], 1 << 30))
    return rows


def _case_form(c: Case, dataset: Dataset, opts: RunOptions, client_run_id: str) -> dict:
    req = case_request(c, opts)
    try:
        rel = str(Path(c.video_path).relative_to(Path(dataset.root)))
    except ValueError:
        rel = c.asset
    return {"video_source_type": "local_asset", "asset_path": rel, "case_id": c.case_id,
            "client_run_id": client_run_id, "tags": c.tags or None,
            "disc_center_x": req.get("disc_center_x"), "disc_center_y": req.get("disc_center_y"),
            "disc_radius": req.get("disc_radius"), "seed_frame": req.get("seed_frame", 0),
            "backend": req.get("backend"), "lift_type": req.get("lift_type"), "load_kg": req.get("load_kg")}

"""Disc tracking with Cutie (rf-cutie), a video object segmentation network.

The seed circle becomes the first mask; Cutie propagates it through the video and each
frame's mask becomes a centre, an equivalent radius, an ellipse and an outline polygon in
full-resolution pixels. Frames before ``seed.frame`` are tracked backwards: a second,
independent pass starts from the seed mask and walks the reversed segment.

Weights are read from ``settings.models_dir / settings.cutie_weights`` (default
``cutie-base-mega.pth``, the official release; ``cutie-small-*.pth`` also works, the
variant is read from the checkpoint). Nothing is ever downloaded: Cutie's constructor
normally fetches ImageNet ResNet weights for its two encoders, we build the ResNets with
``pretrained=False`` instead (the full checkpoint overwrites those weights anyway).

Memory stays bounded on long videos: frames are streamed (the backward pass decodes
fixed-size chunks), Cutie's working memory holds at most ``max_mem_frames`` frames and its
long-term memory at most ``max_num_tokens`` prototypes.

Heavy imports (torch, cutie, cv2) happen inside functions only.
"""

from __future__ import annotations

import importlib.util
import math
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import numpy as np

from liftflow.config import Settings, missing_requirement, model_file
from liftflow.progress import ProgressFn, report
from liftflow.tracking.base import (
    LOST,
    TRACKED,
    TrackerUnavailable,
    DiscObservation,
    FrameSource,
    SeedCircle,
    TrackingError,
)
from liftflow.tracking.driver import (backward_from_seed, check_seed, fill_not_decoded,
                                      forward_from_seed, frame_time, seed_not_decoded)
from liftflow.video import VideoInfo

DESCRIPTION = (
    "Cutie video object segmentation (rf-cutie): the seed circle becomes the first mask, "
    "propagated forwards and backwards; mask -> centre, radius, outline. Needs the Cutie "
    "checkpoint in the models directory."
)

DEFAULTS: dict[str, Any] = {
    "max_side": 480,  # working resolution: longest side in pixels (None: full resolution)
    "min_seed_radius_px": 6.0,  # raise the working resolution so the seed is at least this big
    "mem_every": 5,  # add a memory frame every N frames
    "use_long_term": True,
    "max_mem_frames": 5,  # working memory cap without long-term memory
    "long_term_max_mem_frames": 10,  # working memory cap with long-term memory
    "long_term_min_mem_frames": 5,
    "num_prototypes": 128,
    "max_num_tokens": 10000,  # long-term memory cap (tokens)
    "buffer_tokens": 2000,
    "top_k": 30,
    "stagger_updates": 5,
    "mask_threshold": 0.5,  # foreground probability for the mask
    "min_area_frac": 0.15,  # mask smaller than this fraction of the seed disc: LOST
    "max_area_frac": 4.0,  # mask larger than this multiple of the seed disc: LOST (not a plate)
    "backward_chunk": 64,  # frames decoded at once for the backward pass (memory bound)
    "amp": True,  # mixed precision on CUDA (ignored on CPU)
    "max_polygon_points": 96,
    # torch CPU threads while tracking (None: torch's default). On a shared, oversubscribed
    # CPU, 1 thread was 30x faster than 2 for small frames (OpenMP threads spin-waiting).
    "cpu_threads": None,
}

_RESNET_LOCK = threading.Lock()


# ----------------------------------------------------------------------------- availability


def weights_path(settings: Settings) -> Path:
    return model_file(settings, settings.cutie_weights)


def availability(settings: Settings) -> Optional[str]:
    """None when the backend can run; otherwise the exact reason (cheap: no heavy import)."""
    return missing_requirement((("cutie", "rf-cutie"), ("omegaconf", "omegaconf"), ("torch", "torch")), weights_path(settings), "LIFTFLOW_CUTIE_WEIGHTS", "the file")


def create(settings: Settings, **options) -> "CutieTracker":
    reason = availability(settings)
    if reason is not None:
        raise TrackerUnavailable(f"tracking backend 'cutie' is unavailable: {reason}")
    return CutieTracker(weights_path(settings), device=settings.device, **options)


# ----------------------------------------------------------------------------- network


def _config_dir() -> Path:
    spec = importlib.util.find_spec("cutie")
    if spec is None or not spec.submodule_search_locations:
        raise TrackerUnavailable("python package 'rf-cutie' is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "config"


def build_config(variant: str = "base", **overrides):
    """Cutie's inference config, composed from the yaml files shipped in the package.

    Equivalent to hydra's ``eval_config`` + ``model: <variant>`` (hydra itself is not
    needed), with the memory caps and working options of this backend.
    """
    from omegaconf import OmegaConf

    opts = {**DEFAULTS, **overrides}
    cdir = _config_dir()
    eval_cfg = OmegaConf.to_container(OmegaConf.load(cdir / "eval_config.yaml"), resolve=False)
    for key in ("defaults", "hydra", "datasets"):
        eval_cfg.pop(key, None)
    model_cfg = OmegaConf.load(cdir / "model" / "base.yaml")
    if variant != "base":
        vpath = cdir / "model" / f"{variant}.yaml"
        if not vpath.is_file():
            raise TrackingError(f"unknown Cutie model variant {variant!r} (no {vpath})")
        vcfg = OmegaConf.to_container(OmegaConf.load(vpath), resolve=False)
        vcfg.pop("defaults", None)
        model_cfg = OmegaConf.merge(model_cfg, vcfg)
    cfg = OmegaConf.create(eval_cfg)
    cfg.model = model_cfg
    cfg.amp = False
    cfg.flip_aug = False
    cfg.save_aux = False
    cfg.save_scores = False
    cfg.chunk_size = -1
    cfg.max_internal_size = -1  # we resize ourselves (working resolution)
    cfg.mem_every = int(opts["mem_every"])
    cfg.use_long_term = bool(opts["use_long_term"])
    cfg.max_mem_frames = int(opts["max_mem_frames"])
    cfg.top_k = int(opts["top_k"])
    cfg.stagger_updates = int(opts["stagger_updates"])
    cfg.long_term.max_mem_frames = int(opts["long_term_max_mem_frames"])
    cfg.long_term.min_mem_frames = int(opts["long_term_min_mem_frames"])
    cfg.long_term.num_prototypes = int(opts["num_prototypes"])
    cfg.long_term.max_num_tokens = int(opts["max_num_tokens"])
    cfg.long_term.buffer_tokens = int(opts["buffer_tokens"])
    OmegaConf.resolve(cfg)
    return cfg


@contextmanager
def _resnets_without_imagenet_download():
    """Build Cutie's ResNet encoders with ``pretrained=False``.

    rf-cutie hard-codes ``pretrained=True`` in ``PixelEncoder``/``MaskEncoder``, which calls
    ``torch.utils.model_zoo.load_url`` (a download unless cached). The constructor offers no
    switch, so for the duration of the construction the two ResNet factories are called with
    the flag off. The checkpoint loaded afterwards holds every encoder weight.
    """
    from cutie.model.utils import resnet

    with _RESNET_LOCK:
        orig18, orig50 = resnet.resnet18, resnet.resnet50

        def r18(pretrained=True, extra_dim=0, model_dir=None):
            return orig18(pretrained=False, extra_dim=extra_dim, model_dir=model_dir)

        def r50(pretrained=True, extra_dim=0, model_dir=None):
            return orig50(pretrained=False, extra_dim=extra_dim, model_dir=model_dir)

        resnet.resnet18, resnet.resnet50 = r18, r50
        try:
            yield
        finally:
            resnet.resnet18, resnet.resnet50 = orig18, orig50


def build_network(variant: str = "base", cfg=None):
    """The real Cutie network (multi-object heads, as released), randomly initialised,
    constructed without any download. Load a checkpoint with ``load_checkpoint``."""
    from cutie.model.cutie import CUTIE

    cfg = cfg if cfg is not None else build_config(variant)
    with _resnets_without_imagenet_download():
        net = CUTIE(cfg)
    return net.eval()


def _read_state_dict(path: Path) -> dict:
    import torch

    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TrackingError(f"cannot read Cutie checkpoint {path}: {exc}") from exc
    for key in ("weights", "network", "state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj:
        raise TrackingError(f"{path} is not a Cutie checkpoint (no state dict inside)")
    return {(k[7:] if k.startswith("module.") else k): v for k, v in obj.items()}


def detect_variant(state: dict) -> str:
    """'base' (ResNet-50 pixel encoder) or 'small' (ResNet-18), read from the weights."""
    w = state.get("pix_feat_proj.weight")
    if w is None:
        raise TrackingError("not a Cutie checkpoint: 'pix_feat_proj.weight' missing")
    in_ch = int(w.shape[1])
    variant = {1024: "base", 256: "small"}.get(in_ch)
    if variant is None:
        raise TrackingError(f"unrecognised Cutie checkpoint: pixel features of {in_ch} channels")
    return variant


def load_checkpoint(path: Path, device: str = "cpu", **cfg_overrides):
    """Read a Cutie checkpoint (torch.load, map_location) into a freshly built network.

    Returns ``(network, cfg)``. Raises TrackingError when the file does not fit Cutie.
    """
    state = _read_state_dict(Path(path))
    variant = detect_variant(state)
    cfg = build_config(variant, **cfg_overrides)
    net = build_network(variant, cfg)
    expected = net.state_dict()
    present = [k for k in expected if k in state]
    if len(present) < 0.95 * len(expected):
        raise TrackingError(
            f"{path} does not fit the Cutie {variant} network: only {len(present)} of "
            f"{len(expected)} weights present"
        )
    try:
        net.load_weights(dict(state))  # Cutie's own loader (single->multi object conversion)
    except RuntimeError as exc:
        raise TrackingError(f"{path} does not fit the Cutie {variant} network: {exc}") from exc
    return net.to(device).eval(), cfg


def _resolve_device(requested: str) -> str:
    import torch

    requested = (requested or "auto").lower()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise TrackerUnavailable(
            f"LIFTFLOW_DEVICE={requested} but CUDA is not available to torch here"
        )
    return requested


@contextmanager
def _cpu_threads(n: Optional[int]):
    """torch's intra-op CPU threads set to ``n`` for the duration (None: unchanged)."""
    import torch

    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ----------------------------------------------------------------------------- mask -> disc


def _to_full(xw: np.ndarray, s: float) -> np.ndarray:
    """Working-resolution pixel coordinates -> full-resolution pixel coordinates."""
    return (xw + 0.5) / s - 0.5


def mask_to_disc(
    prob: np.ndarray,
    sx: float,
    sy: float,
    width: int,
    height: int,
    seed_area_w: float,
    threshold: float = 0.5,
    min_area_frac: float = 0.15,
    max_area_frac: float = 4.0,
    max_polygon_points: int = 96,
) -> Optional[dict]:
    """Foreground probability (working res) -> disc geometry in full-res pixels, or None.

    The largest connected component above ``threshold`` is the plate. Centre and ellipse
    come from its image moments (a filled ellipse with semi-axes a, b has covariance
    eigenvalues a^2/4, b^2/4); radius = sqrt(a*b), as base.DiscObservation specifies.
    """
    import cv2

    binary = (prob > threshold).astype(np.uint8)
    if not binary.any():
        return None
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    comp = (labels == k).astype(np.uint8)
    area = float(stats[k, cv2.CC_STAT_AREA])
    frac = area / max(seed_area_w, 1e-9)
    if frac < min_area_frac or frac > max_area_frac:
        return {"rejected": True, "area_frac": frac}
    ys, xs = np.nonzero(comp)
    # full-res coordinates of the component's pixels (anisotropic scale handled exactly)
    fx = _to_full(xs.astype(np.float64), sx)
    fy = _to_full(ys.astype(np.float64), sy)
    cx, cy = float(fx.mean()), float(fy.mean())
    cov = np.cov(np.stack([fx, fy])) if len(fx) > 1 else np.zeros((2, 2))
    # a pixel is a unit square: add its own variance (1/12 per axis, full-res units)
    cov = cov + np.diag([1.0 / (12 * sx * sx), 1.0 / (12 * sy * sy)])
    evals, evecs = np.linalg.eigh(cov)
    evals = np.clip(evals, 1e-12, None)
    a, b = 2.0 * math.sqrt(evals[1]), 2.0 * math.sqrt(evals[0])
    angle = math.degrees(math.atan2(evecs[1, 1], evecs[0, 1])) % 180.0
    radius = math.sqrt(a * b)

    contours, _ = cv2.findContours(comp, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea)
    eps = 0.5
    poly = cv2.approxPolyDP(contour, eps, True)
    while len(poly) > max_polygon_points:
        eps *= 1.5
        poly = cv2.approxPolyDP(contour, eps, True)
    pts = poly.reshape(-1, 2).astype(np.float64)
    px = np.clip(_to_full(pts[:, 0], sx), 0.0, width - 1.0)
    py = np.clip(_to_full(pts[:, 1], sy), 0.0, height - 1.0)
    polygon = [[round(float(x), 2), round(float(y), 2)] for x, y in zip(px, py)]

    perimeter = float(cv2.arcLength(contour, True))
    circularity = float(min(1.0, 4 * math.pi * area / perimeter**2)) if perimeter > 0 else 0.0
    mean_prob = float(prob[comp.astype(bool)].mean())
    return {
        "rejected": False,
        "center": (cx, cy),
        "radius": radius,
        "ellipse": (a, b, angle),
        "polygon": polygon,
        "confidence": float(np.clip(mean_prob, 0.0, 1.0)),
        "area_frac": frac,
        "circularity": circularity,
    }


# ----------------------------------------------------------------------------- tracker


class CutieTracker:
    name = "cutie"

    def __init__(self, weights: Path, device: str = "auto", **options):
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise TrackingError(f"unknown cutie option(s): {', '.join(sorted(unknown))}")
        self.opts = {**DEFAULTS, **options}
        self.weights = Path(weights)
        self.device = _resolve_device(device)
        cfg_keys = {
            "mem_every", "use_long_term", "max_mem_frames", "long_term_max_mem_frames",
            "long_term_min_mem_frames", "num_prototypes", "max_num_tokens", "buffer_tokens",
            "top_k", "stagger_updates",
        }
        self.network, self.cfg = load_checkpoint(
            self.weights, self.device, **{k: v for k, v in self.opts.items() if k in cfg_keys}
        )
        self.last_timing: dict = {}

    # -- helpers
    def _scale_for(self, info: VideoInfo, seed: SeedCircle) -> float:
        long_side = max(info.width, info.height)
        max_side = self.opts["max_side"]
        s = 1.0 if not max_side else min(1.0, float(max_side) / long_side)
        min_r = float(self.opts["min_seed_radius_px"])
        if seed.r * s < min_r:
            s = min(1.0, min_r / max(seed.r, 1e-6))
        return s

    def _tensor(self, img_bgr: np.ndarray):
        import torch

        rgb = np.ascontiguousarray(img_bgr[:, :, ::-1])
        t = torch.from_numpy(rgb).to(self.device).permute(2, 0, 1).float().div_(255.0)
        return t

    def _seed_mask(self, seed: SeedCircle, sx: float, sy: float, shape) -> np.ndarray:
        """The seed disc at working resolution: pixels whose centre lies inside the circle."""
        h, w = shape[:2]
        cx, cy = (seed.cx + 0.5) * sx - 0.5, (seed.cy + 0.5) * sy - 0.5
        yy, xx = np.mgrid[0:h, 0:w]
        inside = ((xx - cx) / (seed.r * sx)) ** 2 + ((yy - cy) / (seed.r * sy)) ** 2 <= 1.0
        return inside.astype(np.uint8)

    def _autocast(self):
        import contextlib

        import torch

        if self.device.startswith("cuda") and self.opts["amp"]:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _observation(self, idx, t_s, prob, sx, sy, info, seed_area_w) -> DiscObservation:
        geo = mask_to_disc(
            prob, sx, sy, info.width, info.height, seed_area_w,
            threshold=self.opts["mask_threshold"],
            min_area_frac=self.opts["min_area_frac"],
            max_area_frac=self.opts["max_area_frac"],
            max_polygon_points=self.opts["max_polygon_points"],
        )
        if geo is None:
            return DiscObservation(idx, t_s, LOST, 0.0, extra={"reason": "empty mask"})
        if geo["rejected"]:
            return DiscObservation(
                idx, t_s, LOST, 0.0,
                extra={"reason": "mask size implausible", "area_frac": round(geo["area_frac"], 3)},
            )
        return DiscObservation(
            frame=idx,
            t_s=t_s,
            state=TRACKED,
            confidence=geo["confidence"],
            center=geo["center"],
            radius=geo["radius"],
            ellipse=geo["ellipse"],
            polygon=geo["polygon"],
            extra={"area_frac": round(geo["area_frac"], 3),
                   "circularity": round(geo["circularity"], 3)},
        )

    # -- main
    def track(
        self,
        video_path: str,
        info: VideoInfo,
        seed: SeedCircle,
        progress: Optional[ProgressFn] = None,
        frame_source: Optional[FrameSource] = None,
    ) -> list[DiscObservation]:
        import torch
        from cutie.inference.inference_core import InferenceCore

        from functools import partial

        from liftflow.video.decode import iter_frames

        frames = frame_source or partial(iter_frames, video_path)
        n = check_seed(info, seed)
        s = self._scale_for(info, seed)
        obs: list[Optional[DiscObservation]] = [None] * n

        done = 0
        t_net = 0.0
        frames_net = 0
        seed_img = None
        seed_mask_t = None
        geom: dict = {}
        peak = {"work": 0, "long": 0, "tokens_per_frame": 0}  # Cutie memory sizes (tokens)

        def step(core, img, mask_t=None, end=False):
            nonlocal t_net, frames_net
            t0 = time.perf_counter()
            x = self._tensor(img)
            with self._autocast():
                if mask_t is not None:
                    out = core.step(x, mask_t, objects=[1], idx_mask=True, end=end)
                else:
                    out = core.step(x, end=end)
            prob = out[1].float().cpu().numpy() if out.shape[0] > 1 else np.zeros(img.shape[:2], np.float32)
            t_net += time.perf_counter() - t0
            frames_net += 1
            mem = core.memory
            work = sum(mem.work_mem.size(b) for b in list(mem.work_mem.buckets))
            long = (sum(mem.long_mem.size(b) for b in list(mem.long_mem.buckets))
                    if mem.use_long_term else 0)
            peak["work"] = max(peak["work"], work)
            peak["long"] = max(peak["long"], long)
            peak["tokens_per_frame"] = mem.HW or peak["tokens_per_frame"]
            return prob

        report(progress, 0.0, f"cutie: tracking {n} frames on {self.device}")
        with _cpu_threads(self.opts["cpu_threads"] if self.device == "cpu" else None), \
                torch.inference_mode(), warnings.catch_warnings():
            # rf-cutie uses the deprecated torch.cuda.amp.autocast on every step
            warnings.simplefilter("ignore", FutureWarning)
            # forward: seed.frame .. n-1
            core = InferenceCore(self.network, self.cfg)
            for fr in forward_from_seed(frames, seed.frame, n, scale=s):
                img = fr.image
                if fr.index == seed.frame:
                    h, w = img.shape[:2]
                    geom["sx"], geom["sy"] = w / info.width, h / info.height
                    seed_mask = self._seed_mask(seed, geom["sx"], geom["sy"], img.shape)
                    geom["seed_area"] = float(seed_mask.sum())
                    if geom["seed_area"] < 1:
                        raise TrackingError("seed circle covers no pixel at the working resolution")
                    seed_mask_t = torch.from_numpy(seed_mask.astype(np.int64)).to(self.device)
                    seed_img = img.copy() if seed.frame > 0 else None
                    prob = step(core, img, seed_mask_t, end=fr.index == n - 1)
                else:
                    prob = step(core, img, end=fr.index == n - 1)
                obs[fr.index] = self._observation(
                    fr.index, frame_time(info, fr.index, fr.t_s), prob, geom["sx"], geom["sy"],
                    info, geom["seed_area"],
                )
                done += 1
                report(progress, done / n, f"cutie: frame {done}/{n}")
            del core
            if seed_mask_t is None:
                raise seed_not_decoded(seed)

            # backward: seed.frame-1 .. 0, streamed in chunks decoded forwards
            if seed.frame > 0:
                core = InferenceCore(self.network, self.cfg)
                step(core, seed_img, seed_mask_t)
                seed_img = None
                chunk = max(1, int(self.opts["backward_chunk"]))
                for fr in backward_from_seed(frames, seed.frame, chunk, scale=s):
                    prob = step(core, fr.image, end=fr.index == 0)
                    obs[fr.index] = self._observation(
                        fr.index, frame_time(info, fr.index, fr.t_s), prob, geom["sx"],
                        geom["sy"], info, geom["seed_area"],
                    )
                    done += 1
                    report(progress, done / n, f"cutie: frame {done}/{n} (backwards)")
                del core

        fill_not_decoded(obs, n, info, lambda i: obs[i] is not None)
        self.last_timing = {
            "frames": frames_net,
            "network_s": round(t_net, 3),
            "s_per_frame": round(t_net / max(frames_net, 1), 4),
            "working_scale": round(s, 4),
            "device": self.device,
            "peak_work_memory_tokens": peak["work"],
            "peak_long_term_memory_tokens": peak["long"],
            "memory_tokens_per_frame": peak["tokens_per_frame"],
        }
        report(progress, 1.0, "cutie: done")
        return obs  # type: ignore[return-value]

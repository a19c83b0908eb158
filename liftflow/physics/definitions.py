"""Unit and method of every figure compute_metrics returns (shipped inside the result)."""

from __future__ import annotations

import liftflow.physics.filtering as flt
import liftflow.physics.reps as rp
import liftflow.physics.uncertainty as unc
from liftflow.physics.params import MAX_LOAD_KG, MOVING_SPEED_M_S, PhysicsParams
from liftflow.verdict import definition as verdict_definition


def build_definitions(filt: dict | None, params: PhysicsParams, floor_based: bool = False) -> dict:
    if filt:
        fx, fy = filt["cutoff_x"]["fc_hz"], filt["cutoff_y"]["fc_hz"]
        how_x = filt["cutoff_x"]["method"]
        how_y = filt["cutoff_y"]["method"]
    else:
        fx = fy = None
        how_x = how_y = "n/a"
    smooth = (
        f"{flt.BUTTER_ORDER}nd-order Butterworth low-pass applied forward and backward "
        f"(scipy.signal.filtfilt, zero lag) to the pixel positions of each run of consecutive "
        f"tracked frames; cut-off x {fx} Hz ({how_x}), y {fy} Hz ({how_y}) from Winter's residual "
        f"analysis, bounded to [{flt.FC_MIN_HZ}, {flt.FC_MAX_HZ}] Hz and <= 0.3 x frame rate; "
        f"runs of {flt.MIN_SEGMENT_SAMPLES}-{flt.MIN_BUTTER_SAMPLES - 1} frames use a quadratic "
        "Savitzky-Golay fit; variable-frame-rate runs are resampled to their median interval, "
        "filtered, and read back at the real timestamps. Where the tracker gives each frame's "
        "centre uncertainty (center_sd_px: the classic tracker's rim-fit residual over its rim "
        "points' count), constant-rate runs of at least "
        f"{flt.MIN_BUTTER_SAMPLES} frames are smoothed instead by the weighted cubic smoothing "
        "spline with the same response on evenly weighted samples (-3 dB at the cut-off), each "
        "position weighted 1 / (sd^2 + the run's median sd^2): a frame the tracker is less sure "
        "of pulls the path less (filter.name says which was used)"
    )
    deriv = ("derivative of a cubic spline through the smoothed positions (on the real timestamps; "
             "central differences would attenuate 3-6 Hz content by 6-24% at 30 fps), or of the "
             "weighted smoothing spline itself where it was used")
    m = params.total_mass_kg
    g = params.g_m_s2
    height_how = (
        f"plate-centre height above the floor: y - min(y) + plate radius ({params.plate_diameter_m / 2} m), "
        "the lowest smoothed point taken as the plate resting on the platform"
        if floor_based else
        "height of the plate centre above its lowest smoothed point in the clip"
    )
    d = {
        "frames": {"unit": "frame index", "how": "frames analysed: tracked, not rejected as a jump, in a run of >= "
                   f"{flt.MIN_SEGMENT_SAMPLES} consecutive tracked frames; lost frames are absent"},
        "time_s": {"unit": "s", "how": "the video container's presentation timestamp of the frame (variable frame rate kept)"},
        "x_m": {"unit": "m", "how": "plate-centre horizontal displacement from the first analysed frame, + to the image right; "
                "pixels x m_per_px_x (foreshortening-corrected in oblique views); " + smooth},
        "y_m": {"unit": "m", "how": "plate-centre vertical displacement from the first analysed frame, + up; pixels x m_per_px; " + smooth},
        "height_m": {"unit": "m", "how": height_how},
        "vx_m_s": {"unit": "m/s", "how": "horizontal velocity, " + deriv},
        "vy_m_s": {"unit": "m/s", "how": "vertical velocity (+ up), " + deriv},
        "speed_m_s": {"unit": "m/s", "how": "sqrt(vx^2 + vy^2)"},
        "accel_m_s2": {"unit": "m/s^2", "how": "vertical acceleration (+ up), derivative of a cubic spline through vy_m_s"},
        "kinetic_energy_j": {"unit": "J", "how": f"0.5 m speed^2, m = {m} kg (bar + plates)"},
        "potential_energy_j": {"unit": "J", "how": f"m g height_m, g = {g} m/s^2"},
        "total_energy_j": {"unit": "J", "how": "kinetic + potential"},
        "power_w": {"unit": "W", "how": "F . v with F = m (a - g_vec) the force on the bar from the lifter: "
                    "m (ax vx + (ay + g) vy); negative while the lifter lowers or brakes the bar"},
        "metrics_raw": {"unit": "as metrics", "how": "same quantities from the unsmoothed positions: central differences "
                        "on the real timestamps, no filter (shows how much noise the filter removed)"},
        "summary.peak_speed_m_s": {"unit": "m/s", "how": "max speed_m_s over every analysed frame, a dropped bar's fall "
                                   "included (the v2.0.0 meaning; equals max_speed_all_frames_m_s); the lift's own peak is "
                                   "peak_speed_lift_m_s"},
        "summary.peak_speed_lift_m_s": {"unit": "m/s", "how": "max speed_m_s over the lift (a dropped bar's fall and bounces excluded)"},
        "summary.peak_vertical_velocity_m_s": {"unit": "m/s", "how": "max vy_m_s over the lift (drops excluded)"},
        "summary.peak_power_w": {"unit": "W", "how": "max |power_w| over every analysed frame: the absolute value, so a "
                                 "negative power (lowering, braking, a dropped bar) counts by its size; drops included (the "
                                 "v2.0.0 meaning); the lift's own peak is peak_power_lift_w"},
        "summary.peak_power_lift_w": {"unit": "W", "how": "max power_w (signed: the lifter driving the bar) over the lift, drops excluded"},
        "summary.max_height_m": {"unit": "m", "how": "max height_m"},
        "summary.min_height_m": {"unit": "m", "how": "min height_m"},
        "summary.lift_duration_s": {"unit": "s", "how": "the video's duration, metadata.duration_s (the v2.0.0 meaning); "
                                    "the time the bar moved is moving_duration_s"},
        "summary.moving_duration_s": {"unit": "s", "how": f"first to last analysed frame where speed_m_s > "
                                      f"{MOVING_SPEED_M_S} m/s, drops excluded"},
        "summary.total_frames": {"unit": "frames", "how": "frames in the video (presentable frames)"},
        "summary.rep_count": {"unit": "reps", "how": "len(reps)"},
        "summary.max_speed_all_frames_m_s": {"unit": "m/s", "how": "max speed_m_s over every analysed frame, drops included"},
        "reps": {"unit": "-", "how": (
            "one object per repetition: swings of the smoothed vertical path of at least "
            f"max({rp.MIN_ROM_M} m, {rp.REL_ROM} x the lift's vertical range); squat/bench count top-bottom-top, "
            "snatch/clean/clean_and_jerk/deadlift count rises from rest, unknown lifts take the direction of the "
            "first movement; unracking, walk-outs and re-racking move the bar too little vertically; "
            f"a dropped bar (fall >= {rp.DROP_MIN_HEIGHT_M} m at >= {rp.DROP_SPEED_M_S} m/s or near free fall) and its "
            "bounces are excluded")},
        "reps.eccentric_start_s": {"unit": "s", "how": f"squat/bench: vy last falls through -{rp.V_ON_M_S} m/s before the bottom; "
                                   "deadlift: start of the lowering after the lock-out (onset fit on -vy); snatch/clean/clean_and_jerk: null "
                                   "(no lowering of their own; a dropped bar is not an eccentric)"},
        "reps.concentric_start_s": {"unit": "s", "how": f"squat/bench: upward zero crossing of vy at the bottom; lifts from the floor: "
                                    f"lift-off, vy rises through {rp.V_ON_M_S} m/s"},
        "reps.concentric_end_s": {"unit": "s", "how": "first downward zero crossing of vy after the concentric start (top, lock-out, peak bar height)"},
        "reps.mean_concentric_velocity_m_s": {"unit": "m/s", "how": "rise / duration between concentric start and end (time-mean of vy)"},
        "reps.peak_concentric_velocity_m_s": {"unit": "m/s", "how": "max vy between concentric start and end"},
        "reps.mean_propulsive_velocity_m_s": {"unit": "m/s", "how": "rise / duration from concentric start to the first instant after peak "
                                              "velocity with ay < -g (Sanchez-Medina 2010), else to the concentric end"},
        "reps.range_of_motion_m": {"unit": "m", "how": "vertical rise of the plate centre over the concentric phase"},
        "reps.peak_power_w": {"unit": "W", "how": "max power_w over the concentric phase"},
        "phases": {"unit": "s", "how": "snatch/clean only, first rep: first pull (lift-off to the first vy maximum), transition "
                   "(to the vy dip of the double knee bend), second pull (to peak vy), turnover (to peak height), catch (to the "
                   "lowest point as the bar is received), recovery (to standing); pose events replace bar estimates when given"},
        "bar_path.first_pull / second_pull": {"unit": "m", "how": "max horizontal displacement toward / away from the lifter within the "
                                              "pull relative to its start, and the net displacement"},
        "bar_path.x_toward_lifter_to_rearmost_m": {"unit": "m", "how": "lift-off to the rearmost point before peak height (classic DX1)"},
        "bar_path.x_away_rearmost_to_forwardmost_m": {"unit": "m", "how": "rearmost to the following forward-most point up to peak height (DX2)"},
        "bar_path.loop_toward_lifter_m": {"unit": "m", "how": "forward-most point to the catch (DXL, the loop)"},
        "bar_path.peak_height_m": {"unit": "m", "how": "max height_m between lift-off and catch"},
        "bar_path.drop_under_bar_m": {"unit": "m", "how": "peak height - catch height (lowest point as the bar is received)"},
        "reps.velocity_loss_pct": {"unit": "%", "how": "velocity loss of the rep against the fastest rep of the set, "
                                    "as velocity-based-training tools report it: (v_best - v) / v_best x 100, v the rep's "
                                    "mean_concentric_velocity_m_s, v_best the highest of the set (0 for the fastest rep); "
                                    "from the reported (rounded) velocities"},
        "summary.velocity_loss_pct": {"unit": "%", "how": "the set's velocity loss: from the fastest rep "
                                      "(velocity_loss_reference_rep, usually the first) to the last rep, "
                                      "(v_best - v_last) / v_best x 100 on mean concentric velocity; null with fewer than 2 reps"},
        "summary.velocity_loss_reference_rep": {"unit": "rep", "how": "reps[].rep of the fastest rep (highest mean "
                                                "concentric velocity), the reference of velocity loss; null without reps"},
        "load.load_kg": {"unit": "kg", "how": "the mass energy and power use: the total on the bar, bar included. The "
                         f"request's load_kg when given (finite, > 0, <= {MAX_LOAD_KG:g} kg), else assumed: bar_mass_kg + "
                         f"plate_mass_kg x plate_count ({params.bar_mass_kg:g} + {params.plate_count} x "
                         f"{params.plate_mass_kg:g} kg)"},
        "load.origin": {"unit": "-", "how": "given (the request's load_kg) or assumed (not given: energy and power are "
                        "those of the assumed mass, load.assumed_from says which, and a warning says so)"},
        "lift_type": {"unit": "-", "how": "the lift the request named (squat, snatch, clean, ...), which decides the "
                      "phases and bar-path figures; null when not given (reps are counted, no phases)"},
        "verdict.code": {"unit": "-", "how": verdict_definition()},
        "verdict.message": {"unit": "-", "how": "why, in a sentence, and what to change when the code is not ok"},
        "reps.uncertainty": {"unit": "-", "how": (
            "the ± on the rep's figures: for mean_concentric_velocity_m_s, peak_concentric_velocity_m_s and "
            "range_of_motion_m a symmetric 95 % half-width (the value ± it holds the true value 19 times in 20), "
            f"{unc.Z95} x the square root of the sum of the squared standard uncertainties of independent sources "
            "(sources: each one's own 95 % half-width): scale (m_per_px: standard error of the median plate "
            f"radius, a {100 * unc.RADIUS_BIAS_REL_SD:g} % floor for the outline fit's bias, obliqueness, drift of "
            "the apparent size; setup_quality.scale_rel_sd), position_noise (tracked-centre noise from the raw - "
            "smoothed residual around the rep, inflated as 1/sqrt(mean tracker confidence), carried through the "
            "same filter and derivative), timing (MCV: the concentric start and end, velocity noise / how fast "
            f"the velocity leaves zero, plus {1000 * unc.ONSET_MODEL_S:g} ms of onset-model error), "
            "filter_attenuation (PCV: what the filter loses when applied once more), frame_rate (PCV: the "
            "between-samples correction of an unresolved peak). Validated on synthetic clips with exact truth: "
            "the true value inside on >= 90 % of reps. Not included: a tracker that follows the wrong circle, "
            "or a scale given as m_per_px (its own uncertainty is the caller's)")},
        "reps.uncertainty.mean_concentric_velocity_m_s": {"unit": "m/s", "how": "95 % half-width (±) of mean_concentric_velocity_m_s"},
        "reps.uncertainty.peak_concentric_velocity_m_s": {"unit": "m/s", "how": "95 % half-width (±) of peak_concentric_velocity_m_s"},
        "reps.uncertainty.range_of_motion_m": {"unit": "m", "how": "95 % half-width (±) of range_of_motion_m"},
        "reps.uncertainty.peak_velocity_resolved": {"unit": "-", "how": (
            "false when the frame rate cannot resolve the peak velocity: the smoothed peak is narrower than "
            f"{unc.PEAK_MIN_FRAMES:g} frames at {unc.PEAK_LEVEL:.0%} of its height, or the bar moves more than "
            f"{unc.PEAK_MAX_TRAVEL_OF_RADIUS:.0%} of the plate radius between frames at the peak; "
            "peak_velocity_note says which, null when resolved")},
        "reps.uncertainty.inputs": {"unit": "-", "how": "what the ± came from: position_noise_px (sd of the tracked centre, px), "
                                    "scale_rel_sd (relative sd of m_per_px), timing_sd_s (sd of the concentric start and "
                                    "end, s), peak_width_frames, peak_travel_of_radius"},
        "setup_quality": {"unit": "-", "how": (
            "the filming setup, judged from the track: verdict good (every check ok), fair (a warning) or poor (a "
            "poor check); checks[] {name, value, status ok|warn|poor|unknown, advice (what to change, null when "
            "ok)}: plate_size_px (median plate radius, px; ok from "
            f"{unc.PLATE_OK_PX:g}, poor below {unc.PLATE_POOR_PX:g}), obliqueness (degrees off a side view; warn from "
            "20, poor from 30), blur (proxy: fractional radius inflation in the fastest quarter of frames vs the "
            f"slow half; warn from {unc.BLUR_WARN:g}, poor from {unc.BLUR_POOR:g}), frame_rate (fps; ok from "
            f"{unc.FPS_OK:g} for snatch/clean, {unc.FPS_OK_SLOW:g} otherwise; at least warn when a rep's peak "
            "velocity is not resolved), camera_shake (proxy: rms mm of the plate centre while the bar rests "
            f"for >= {unc.REST_MIN_S:g} s, less the tracker noise; warn from {unc.SHAKE_WARN_MM:g}, poor from "
            f"{unc.SHAKE_POOR_MM:g}); advice[]: the advice of every check that is not ok; scale_rel_sd: the "
            "relative standard uncertainty of m_per_px and its parts")},
        "calibration.m_per_px": {"unit": "m/px", "how": "plate diameter / (2 x median semi-major axis (or radius) of the plate over "
                                 "the slow half of the tracked frames); oblique views: x scaled by 1/(b/a)"},
    }
    return d

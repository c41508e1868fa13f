
# %% [markdown]
# ## Segments, boundaries and the two attention regimes
#
# A composition is a list of segments, each with its own text and length. Absolute mode restarts the sinusoidal
# position at every segment and forbids attention across segments, so each action is denoised as if it were alone.
# Relative mode rotates queries and keys by their frame index (rotary embeddings) and lets every frame see the frames
# within a horizon H, across boundaries: that is where transitions get smooth.

# %%
#| export
def check_segments(
    lengths: Sequence[int],  # frames per segment
    total: int | None = None,  # the sequence length they must add up to (None: not checked)
) -> np.ndarray:
    "The segment lengths as an int array (S,), after checking that none is empty and that they add up."
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or len(lengths) == 0:
        raise ValueError("a composition needs at least one segment")
    if not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"segment lengths must be integers, got {lengths.dtype}")
    if (lengths <= 0).any():
        raise ValueError(f"segment {int(np.argmax(lengths <= 0))} is empty: every segment needs at least one frame")
    if total is not None and int(lengths.sum()) != total:
        raise ValueError(f"the segments add up to {int(lengths.sum())} frames, but the sequence has {total}")
    return lengths.astype(np.int64)


def segment_boundaries(lengths: Sequence[int]) -> np.ndarray:
    "First frame of every segment after the first, (S − 1,): where transitions happen."
    return np.cumsum(check_segments(lengths))[:-1]


def segment_ids(lengths: Sequence[int]) -> np.ndarray:
    "Segment index of every frame, (L,)."
    lengths = check_segments(lengths)
    return np.repeat(np.arange(len(lengths)), lengths)


def absolute_positions(lengths: Sequence[int]) -> np.ndarray:
    "Frame index within its own segment, (L,): absolute positions restart at every segment."
    lengths = check_segments(lengths)
    return np.concatenate([np.arange(n) for n in lengths])


def segment_mask(lengths: Sequence[int]) -> np.ndarray:
    "(L, L) bool: frame i may attend to frame j iff both lie in the same segment (absolute mode)."
    ids = segment_ids(lengths)
    return ids[:, None] == ids[None, :]


def window_mask(length: int, horizon: int) -> np.ndarray:
    "(L, L) bool: frame i may attend to frame j iff |i − j| ≤ horizon (relative mode)."
    if length < 1 or horizon < 0:
        raise ValueError(f"need length ≥ 1 and horizon ≥ 0, got {length} and {horizon}")
    idx = np.arange(length)
    return np.abs(idx[:, None] - idx[None, :]) <= horizon

# %% [markdown]
# Rotary embeddings rotate each pair of channels of a query or key by an angle proportional to the frame index. The
# dot product of a rotated query at frame i with a rotated key at frame j then depends on i − j only: attention
# becomes translation invariant, which is what lets relative mode run on sequences longer than any seen in training.

# %%
#| export
def rotary(
    x: torch.Tensor,  # (..., L, d) queries or keys, d even
    positions: torch.Tensor,  # (L,) frame indices
    base: float = 10_000.0,
) -> torch.Tensor:
    "x with channel pairs (2k, 2k+1) rotated by positions · base^(−2k/d), same shape."
    d = x.shape[-1]
    if d % 2:
        raise ValueError(f"rotary embeddings need an even channel count, got {d}")
    freqs = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    angles = positions.to(torch.float64)[:, None] * freqs[None, :]  # (L, d/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out

# %% [markdown]
# **The inference schedule.** Sampling runs T denoising steps from the noisiest down. Blended Positional Encodings use
# absolute mode for the first `s` of them and relative mode for the rest: the noisy early steps settle each action's
# global content, the later ones smooth the joins. We count `s` in sampler steps, so `s = 0` is relative throughout and
# `s = T` absolute throughout. (The official code's test `t > T − s` on the timestep index gives `s − 1` absolute
# steps; we use the plain count.)

# %%
#| export
def bpe_schedule(num_steps: int, absolute_steps: int) -> list[str]:
    "The mode of every sampling step, noisiest first: 'absolute' for the first `absolute_steps`, then 'relative'."
    if num_steps < 1 or not 0 <= absolute_steps <= num_steps:
        raise ValueError(f"need num_steps ≥ 1 and 0 ≤ absolute_steps ≤ num_steps, got {num_steps}, {absolute_steps}")
    return ["absolute"] * absolute_steps + ["relative"] * (num_steps - absolute_steps)

# %% [markdown]
# ## Measuring transitions: Peak Jerk and Area Under the Jerk
#
# Jerk is the third time derivative of position. As in the paper's evaluation we take third finite differences
# without dividing by the frame time (units: length per frame³), reduce each frame to one number — the largest, over
# joints, of the L1 norm over x, y, z — and look at windows of `window` frames centred on every boundary. The curves
# of all windows are averaged first; **Peak Jerk** is the maximum of that mean curve, and **Area Under the Jerk** the
# summed absolute difference between the mean curve and the ground truth's typical jerk, a constant measured on
# real (here: generated-ground-truth) motion.

# %%
#| export
def jerk(
    positions: np.ndarray,  # (L, J, 3) joint positions
) -> np.ndarray:
    "Third finite difference p[t+3] − 3p[t+2] + 3p[t+1] − p[t], (L − 3, J, 3)."
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 3 or p.shape[-1] != 3:
        raise ValueError(f"positions must be (L, J, 3), got {p.shape}")
    if len(p) < 4:
        raise ValueError(f"jerk needs at least 4 frames, got {len(p)}")
    return p[3:] - 3 * p[2:-1] + 3 * p[1:-2] - p[:-3]


def frame_jerk(positions: np.ndarray) -> np.ndarray:
    "Per-frame jerk: max over joints of the L1 norm over x, y, z, (L − 3,)."
    return np.abs(jerk(positions)).sum(-1).max(-1)


def transition_windows(boundaries: Sequence[int], length: int, window: int) -> list[tuple[int, int]]:
    "Frame ranges [b − ⌊w/2⌋, b − ⌊w/2⌋ + w) around each boundary; every window must fit in the sequence."
    if window < 4:
        raise ValueError(f"a jerk window needs at least 4 frames, got {window}")
    spans = []
    for b in boundaries:
        start = int(b) - window // 2
        if start < 0 or start + window > length:
            raise ValueError(f"the {window}-frame window around boundary {b} does not fit in {length} frames")
        spans.append((start, start + window))
    return spans


def mean_transition_jerk(
    positions: np.ndarray,  # (L, J, 3)
    boundaries: Sequence[int],  # first frames of segments 2..S
    window: int = 30,  # frames per transition window
) -> np.ndarray:
    "The jerk curve averaged over all transition windows, (window − 3,)."
    spans = transition_windows(boundaries, len(positions), window)
    if not spans:
        raise ValueError("a single segment has no transitions")
    return np.mean([frame_jerk(positions[a:b]) for a, b in spans], axis=0)


def peak_jerk(curve: np.ndarray) -> float:
    "Peak Jerk: the maximum of the mean transition jerk curve."
    return float(np.max(curve))


def area_under_jerk(curve: np.ndarray, ground_truth: float) -> float:
    "Area Under the Jerk: Σ_t |J̄_t − J_GT| over the window (not normalised by its length)."
    return float(np.sum(np.abs(np.asarray(curve) - ground_truth)))


def pooled_transition_jerk(
    sequences: Sequence[tuple[np.ndarray, Sequence[int]]],  # (positions (L, J, 3), boundaries) per composition
    window: int = 30,
) -> np.ndarray:
    "The mean jerk curve over the transition windows of many compositions, (window − 3,)."
    curves = [frame_jerk(p[a:b]) for p, bounds in sequences for a, b in transition_windows(bounds, len(p), window)]
    if not curves:
        raise ValueError("none of the compositions has a transition")
    return np.mean(curves, axis=0)

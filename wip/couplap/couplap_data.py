
# %% [markdown]
# ## Synthetic 2.5-D objects
#
# MVTec 3D-AD stores each scan as an *xyz image*: an H×W grid whose pixels hold the 3-D point seen there, with empty
# pixels where the scanner saw nothing. We make five classes of such objects as height fields $z(x, y)$ over
# $[-1, 1]^2$ (the object size is 2): a **bagel** (a rounded ring), a **cookie** (a flat disc with crumbs), **foam**
# (a bumpy square slab), a **rope** (a twisted strand) and a **tire** (a grooved ring). Every sample varies its
# radii by a few per cent, carries height noise, and sits in a slightly different rigid pose: the nuisances a real
# registration has to absorb.

# %%
#| export
OBJECT_CLASSES: tuple[str, ...] = ("bagel", "cookie", "foam", "rope", "tire")
ANOMALY_KINDS: tuple[str, ...] = ("bump", "dent", "crack", "hole", "contamination", "combined")


@dataclass
class Scan:
    "One synthetic xyz image."
    xyz: np.ndarray  # (H, W, 3) the point seen at each pixel
    valid: np.ndarray  # (H, W) bool: pixels that hold a point
    mask: np.ndarray  # (H, W) bool: ground-truth anomaly
    kind: str = "good"  # the anomaly type, or "good"

    def points(self, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
        "The valid points of every `stride`-th row and column (n, 3), and their flat pixel indices (n,)."
        keep = np.zeros_like(self.valid)
        keep[::stride, ::stride] = True
        pixels = np.flatnonzero(self.valid & keep)
        return self.xyz.reshape(-1, 3)[pixels], pixels


def smooth_noise(shape: tuple[int, int], rng: np.random.Generator, octaves: int = 4) -> np.ndarray:
    "Band-limited noise on the grid, (H, W), unit standard deviation: a sum of random plane waves per octave."
    y, x = np.mgrid[-1:1:shape[0] * 1j, -1:1:shape[1] * 1j]
    field = np.zeros(shape)
    for octave in range(octaves):
        for _ in range(6):
            angle, phase = rng.uniform(0, 2 * np.pi, 2)
            freq = 2.0 ** octave * rng.uniform(1.5, 3.0)
            field += 0.6**octave * np.cos(freq * (np.cos(angle) * x + np.sin(angle) * y) * np.pi + phase)
    return field / field.std()


def object_height(
    cls: str,  # one of OBJECT_CLASSES
    size: int,  # grid side H = W
    rng: np.random.Generator,  # per-sample shape variation
) -> tuple[np.ndarray, np.ndarray]:
    "A nominal object's height field z (H, W) and its support (H, W) bool, on the grid [-1, 1]²."
    if cls not in OBJECT_CLASSES:
        raise ValueError(f"unknown object class {cls!r}; choose from {OBJECT_CLASSES}")
    y, x = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    rho, angle = np.hypot(x, y), np.arctan2(y, x)
    vary = lambda: 1.0 + 0.03 * rng.normal()
    if cls in ("bagel", "tire"):
        R, r = 0.55 * vary(), 0.3 * vary()
        u = (rho - R) / r
        support = np.abs(u) < 1
        z = 0.25 * vary() * np.cos(np.pi * u / 2) ** 2
        if cls == "tire":  # tread grooves across the ring
            z -= 0.02 * (np.cos(24 * angle) > 0.6) * (np.abs(u) < 0.8)
    elif cls == "cookie":
        R = 0.8 * vary()
        u = rho / R
        support = u < 1
        z = 0.12 * np.clip(1.5 * np.cos(np.pi * u / 2), 0, 1) + 0.004 * smooth_noise(x.shape, rng)
    elif cls == "foam":
        support = (np.abs(x) < 0.85) & (np.abs(y) < 0.85)
        z = 0.1 + 0.03 * smooth_noise(x.shape, rng)
    else:  # rope: a strand along x with a helical ripple
        w = 0.28 * vary()
        u = y / w
        support = (np.abs(u) < 1) & (np.abs(x) < 0.9)
        z = 0.2 * np.cos(np.pi * u / 2) ** 2 + 0.015 * np.cos(14 * np.pi * (x + 0.3 * y)) * (np.abs(u) < 1)
    return np.where(support, z, 0.0), support


def add_anomaly(
    z: np.ndarray,  # (H, W) height field
    support: np.ndarray,  # (H, W) bool
    kind: str,  # one of ANOMALY_KINDS
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    "A defect added at a random place on the object: new heights (H, W), new support, ground-truth mask (H, W)."
    if kind not in ANOMALY_KINDS:
        raise ValueError(f"unknown anomaly kind {kind!r}; choose from {ANOMALY_KINDS}")
    size = z.shape[0]
    y, x = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    inner = ndimage.binary_erosion(support, iterations=max(2, size // 16))  # keep defects off the rim
    cy, cx = np.argwhere(inner if inner.any() else support)[rng.integers(int((inner if inner.any() else support).sum()))]
    px, py = x[cy, cx], y[cy, cx]
    r2 = (x - px) ** 2 + (y - py) ** 2
    z, support = z.copy(), support.copy()
    if kind in ("bump", "dent"):
        amplitude, radius = rng.uniform(0.03, 0.06), rng.uniform(0.05, 0.10)
        g = amplitude * np.exp(-r2 / (2 * radius**2))
        z += (1 if kind == "bump" else -1) * g * support
        mask = (g > 0.2 * amplitude) & support
    elif kind == "crack":
        angle, length = rng.uniform(0, np.pi), rng.uniform(0.2, 0.4)
        t = np.clip((x - px) * np.cos(angle) + (y - py) * np.sin(angle), -length / 2, length / 2)
        gap = np.hypot(x - px - t * np.cos(angle), y - py - t * np.sin(angle))
        mask = (gap <= rng.uniform(1.0, 2.0) * 2.0 / size) & support
        z -= 0.04 * mask
    elif kind == "hole":
        mask = (r2 < rng.uniform(0.05, 0.1) ** 2) & support
        support &= ~mask
    elif kind == "contamination":  # a small flat-topped blob stuck on the surface
        mask = (r2 < rng.uniform(0.04, 0.08) ** 2) & support
        z = np.where(mask, z[mask].max() + rng.uniform(0.02, 0.04), z) if mask.any() else z
    else:  # combined: a subtle amplitude with sharp local structure (a small rippled patch)
        radius = rng.uniform(0.08, 0.14)
        mask = (r2 < radius**2) & support
        z += 0.008 * np.sin(2 * np.pi * np.sqrt(r2) / 0.05) * mask
    return np.where(support, z, 0.0), support, mask


def random_pose(points: np.ndarray, rng: np.random.Generator, degrees: float = 5.0,
                shift: float = 0.04) -> np.ndarray:
    "The points (n, 3) under a small random rotation (≤ `degrees`) about their centre and a shift (≤ `shift`)."
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.deg2rad(rng.uniform(0, degrees))
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    R = np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K
    centre = points.mean(0)
    return (points - centre) @ R.T + centre + rng.uniform(-shift, shift, 3)


def make_scan(
    cls: str,  # object class
    size: int,  # grid side
    kind: str = "good",  # "good" or one of ANOMALY_KINDS
    seed: int | np.random.Generator = 0,
    noise: float = 0.003,  # height noise (object size 2)
    pose: bool = True,  # apply a small random rigid pose
) -> Scan:
    "One synthetic xyz image of `cls`, nominal or with one defect of `kind`."
    rng = np.random.default_rng(seed)
    z, support = object_height(cls, size, rng)
    mask = np.zeros_like(support)
    if kind != "good":
        z, support, mask = add_anomaly(z, support, kind, rng)
    z = z + noise * rng.normal(size=z.shape)
    y, x = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    xyz = np.stack([x, y, z], axis=-1)
    if pose:
        xyz[support] = random_pose(xyz[support], rng)
    xyz[~support] = 0.0
    return Scan(xyz, support, mask, kind)

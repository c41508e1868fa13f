
# %% [markdown]
# ## Synthetic femurs
#
# A femur is chiral: the left one is the mirror image of the right one, and no rotation turns one into the other. Our
# femur-like template is a slightly bowed shaft with a head on an angled neck that leans forward (anteversion), a
# greater trochanter on the other side, two condyles of unequal size at the bottom and a ridge down the back. The left
# bone is the exact mirror of the right (x → −x). Every subject varies length, neck angle, radii and adds a few smooth
# bumps.

# %%
#| export
def _sphere_points(centre: np.ndarray, radius: float, n: int, rng: np.random.Generator) -> np.ndarray:
    d = rng.normal(size=(n, 3))
    return centre + radius * d / np.linalg.norm(d, axis=1, keepdims=True)


def _tube_points(start: np.ndarray, end: np.ndarray, radius: float, n: int, rng: np.random.Generator,
                 bow: np.ndarray | None = None) -> np.ndarray:
    "Points on the side of a (possibly bowed) tube from start to end, (n, 3)."
    axis = end - start
    length = np.linalg.norm(axis)
    a = axis / length
    helper = np.array([1.0, 0, 0]) if abs(a[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = np.cross(a, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(a, e1)
    t, phi = rng.random(n), rng.uniform(0, 2 * np.pi, n)
    centre = start + t[:, None] * axis
    if bow is not None:
        centre += np.sin(np.pi * t)[:, None] * bow
    return centre + radius * (np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2)


def make_femur(
    side: str,  # "right" or "left"
    n: int = 1500,  # surface points
    seed: int | np.random.Generator = 0,
    variation: float = 1.0,  # scale of the per-subject variation (0: the template)
    noise: float = 0.004,  # point noise (the bone is about 1 long)
) -> np.ndarray:
    "A femur-like point cloud (n, 3), long axis along z, medial side +x for a right bone."
    if side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    rng = np.random.default_rng(seed)
    vary = lambda spread: 1.0 + variation * spread * rng.uniform(-1, 1)
    length = 1.0 * vary(0.10)
    r_shaft, r_head = 0.045 * vary(0.10), 0.085 * vary(0.10)
    neck = np.deg2rad(125.0 + variation * 8.0 * rng.uniform(-1, 1))  # angle between neck and shaft
    anteversion = np.deg2rad(15.0)
    top, bottom = np.array([0, 0, length]), np.array([0, 0, 0.0])
    neck_dir = np.array([np.sin(np.pi - neck) * np.cos(anteversion), np.sin(np.pi - neck) * np.sin(anteversion),
                         -np.cos(np.pi - neck)])
    neck_dir /= np.linalg.norm(neck_dir)
    head = top + 0.16 * neck_dir
    parts = [  # (area-like weight, generator)
        (3.0, lambda m: _tube_points(bottom + [0, 0, 0.08], top, r_shaft, m, rng, bow=np.array([0, 0.03, 0]))),
        (0.6, lambda m: _tube_points(top, head, 0.6 * r_head, m, rng)),
        (1.0, lambda m: _sphere_points(head, r_head, m, rng)),
        (0.6, lambda m: _sphere_points(top + [-0.07, -0.01, 0.0], 0.055, m, rng)),  # greater trochanter
        (0.9, lambda m: _sphere_points(bottom + [0.05, 0.01, 0.04], 0.065, m, rng)),  # medial condyle
        (0.7, lambda m: _sphere_points(bottom + [-0.05, 0.01, 0.05], 0.055, m, rng)),  # lateral condyle
        (0.4, lambda m: _tube_points(bottom + [0, -0.045, 0.25], top + [0, -0.045, -0.3], 0.012, m, rng)),  # ridge
    ]
    weights = np.array([w for w, _ in parts])
    counts = rng.multinomial(n, weights / weights.sum())
    points = np.concatenate([make(m) for (_, make), m in zip(parts, counts)])
    for _ in range(3):  # smooth per-subject bumps
        centre = points[rng.integers(len(points))]
        points += (variation * 0.01 * np.exp(-np.sum((points - centre) ** 2, 1) / 0.01))[:, None] * \
            (points - points.mean(0)) / np.linalg.norm(points - points.mean(0), axis=1, keepdims=True)
    points += noise * rng.normal(size=points.shape)
    if side == "left":
        points[:, 0] *= -1.0
    return points[rng.permutation(len(points))]


def pca_align_icp(
    moving: np.ndarray,  # (n, 3) cloud to register
    fixed: np.ndarray,  # (m, 3) cloud it is registered to
    iterations: int = 30,
) -> tuple[np.ndarray, float]:
    "moving registered onto fixed (n, 3) and the RMS error: the best ICP over the 4 proper PCA axis alignments."
    def frame(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        centre = p.mean(0)
        return centre, np.linalg.svd(p - centre, full_matrices=False)[2]  # rows: principal axes

    c_m, axes_m = frame(moving)
    c_f, axes_f = frame(fixed)
    best, best_rms = moving, np.inf
    for flips in ([1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]):  # rotations by π about each axis, and none
        R0 = axes_f.T @ np.diag(flips) @ axes_m
        if np.linalg.det(R0) < 0:  # keep it a rotation: a reflection would turn a left bone into a right one
            R0 = axes_f.T @ np.diag([flips[0], flips[1], -flips[2]]) @ axes_m
        start = (moving - c_m) @ R0.T + c_f
        R, t, rms = icp(start, fixed, iterations)
        if rms < best_rms:
            best, best_rms = start @ R.T + t, rms
    return best, best_rms


@dataclass
class SideDistances:
    "Distances of a target bone to a source bone and to its mirror, by each method (smaller = more alike)."
    spectral: tuple[float, float]  # Grassmann distance of restricted coupled eigenspaces
    chamfer: tuple[float, float]
    hausdorff: tuple[float, float]

    def same_side(self, method: str) -> bool:
        "The prediction: does the target come from the source's side?"
        same, mirrored = getattr(self, method)
        return same <= mirrored


def side_distances(
    source: np.ndarray,  # (n_s, 3) bone of known side
    target: np.ndarray,  # (n_t, 3) bone to classify
    cross: float = 0.5,
    maps: int = 20,
    k: int = 10,
    ends: int = 100,  # points averaged at each end for the Fiedler length
    seed: int | np.random.Generator = 0,
) -> SideDistances:
    "Bone side estimation: scale, mirror, register, couple three clouds, and compare."
    target = target * fiedler_length(source, ends, k) / fiedler_length(target, ends, k)
    same, _ = pca_align_icp(source, target)
    mirrored, _ = pca_align_icp(mirror_second_axis(source), target)
    (phi_t, phi_s, phi_m), chosen, (a_s, a_m) = coupled_eigenmaps([target, same, mirrored], cross, maps, k, seed)
    spectral = (grassmann_distance(phi_t[chosen], phi_s[a_s]), grassmann_distance(phi_t[chosen], phi_m[a_m]))
    return SideDistances(spectral, (chamfer_distance(target, same), chamfer_distance(target, mirrored)),
                         (hausdorff_distance(target, same), hausdorff_distance(target, mirrored)))

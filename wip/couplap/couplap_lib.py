
# %% [markdown]
# ## Coupling two clouds
#
# Each cloud gets the kit's Gaussian k-NN graph (`cvkit.core.spectral.knn_graph`: k = 10, symmetrised by averaging the
# two directed lengths, $w_{ij} = e^{-d_{ij}^2/\sigma^2}$ with $\sigma^2$ the largest squared edge length). The
# **cross edges** join a random fraction `cross` of the target's points $S$ to their nearest source points $a(s)$, with
# weight $c_s = \exp(-d_s^2 / \max_{s'} d_{s'}^2) \in [e^{-1}, 1]$: the farther a target point is from the source, the
# weaker its link.

# %%
#| export
def cross_edges(
    source: np.ndarray,  # (n_a, 3) the registered reference cloud
    target: np.ndarray,  # (n_b, 3) the cloud to compare
    cross: float,  # fraction of target points that get a cross edge, in (0, 1]
    seed: int | np.random.Generator = 0,  # which target points are drawn
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    "Cross edges: target indices S (m,), their nearest source points a(S) (m,), and weights c (m,) in [1/e, 1]."
    source = check_points(source, dim=3, name="source")
    target = check_points(target, dim=3, name="target")
    if not 0 < cross <= 1:
        raise ValueError(f"cross must be in (0, 1], got {cross}")
    m = max(1, int(round(cross * len(target))))
    rng = np.random.default_rng(seed)
    chosen = np.arange(len(target)) if m == len(target) else np.sort(rng.choice(len(target), m, replace=False))
    dist, nearest = cKDTree(source).query(target[chosen])
    largest = float(np.max(dist**2))
    weights = np.exp(-(dist**2) / largest) if largest > 0 else np.ones(m)
    return chosen, nearest, weights


def coupling_matrix(
    n_source: int,  # points in the source cloud
    n_target: int,  # points in the target cloud
    target_idx: np.ndarray,  # (m,) distinct target points
    source_idx: np.ndarray,  # (m,) their source partners (repeats allowed)
    weights: np.ndarray,  # (m,) edge weights
) -> sp.csr_matrix:
    "The cross block K (n_source, n_target), K[a(s), s] = c_s, built in COO form so every edge survives."
    target_idx, source_idx = np.asarray(target_idx), np.asarray(source_idx)
    if len(np.unique(target_idx)) != len(target_idx):
        raise ValueError("each target point may have only one cross edge")
    if not (len(target_idx) == len(source_idx) == len(weights)):
        raise ValueError("target_idx, source_idx and weights must have the same length")
    return sp.coo_matrix((np.asarray(weights, float), (source_idx, target_idx)), shape=(n_source, n_target)).tocsr()

# %% [markdown]
# Two target points often share a nearest source point. Building $K$ from (row, column, value) triplets keeps both
# edges; the official code writes the block by fancy-index assignment of a diagonal matrix, which zeroes one of
# them. The test below shows the difference matters: both edges are there.

# %%
K_demo = coupling_matrix(3, 4, np.array([0, 1, 3]), np.array([2, 2, 0]), np.array([1.0, 0.5, 0.8]))
assert K_demo.nnz == 3 and K_demo[2, 0] == 1.0 and K_demo[2, 1] == 0.5
K_demo.toarray()

# %% [markdown]
# The **coupled Laplacian** joins any number of clouds: the adjacency is block-structured, the graphs on the diagonal
# and the cross blocks off it; $L_c = \operatorname{diag}(W_c \mathbf 1) - W_c$ counts the cross edges in the degrees,
# while the mass matrix of the generalised problem $L_c \phi = \lambda \mathcal D \phi$ holds the **uncoupled**
# degrees. Splitting each eigenvector by cloud gives eigenmaps that are aligned by construction: one eigenproblem, one
# ordering, one sign.

# %%
#| export
def coupled_laplacian(
    graphs: list[sp.spmatrix],  # the clouds' weight matrices W_i (n_i, n_i)
    couplings: dict[tuple[int, int], sp.spmatrix],  # (i, j), i < j → cross block K (n_i, n_j)
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    "The coupled Laplacian L_c (n, n), the block-diagonal uncoupled degrees 𝒟 (n, n), and the cloud offsets (len+1,)."
    sizes = [W.shape[0] for W in graphs]
    blocks: list[list[sp.spmatrix | None]] = [[None] * len(graphs) for _ in graphs]
    for i, W in enumerate(graphs):
        blocks[i][i] = sp.csr_matrix(W)
    for (i, j), K in couplings.items():
        if not i < j < len(graphs):
            raise ValueError(f"coupling keys must be (i, j) with i < j < {len(graphs)}, got {(i, j)}")
        if K.shape != (sizes[i], sizes[j]):
            raise ValueError(f"coupling {(i, j)} must have shape {(sizes[i], sizes[j])}, got {K.shape}")
        blocks[i][j], blocks[j][i] = sp.csr_matrix(K), sp.csr_matrix(K).T
    W_c = sp.csr_matrix(sp.bmat(blocks))
    L_c = sp.csr_matrix(sp.diags(np.asarray(W_c.sum(axis=1)).ravel()) - W_c)
    degrees = np.concatenate([np.asarray(W.sum(axis=1)).ravel() for W in graphs])
    return L_c, sp.diags(degrees, format="csr"), np.concatenate([[0], np.cumsum(sizes)])


def coupled_eigenmaps(
    clouds: list[np.ndarray],  # registered clouds (n_i, 3); cloud 0 is the one every other is coupled to
    cross: float = 0.5,  # fraction of cloud 0's points with cross edges to each other cloud
    maps: int = 30,  # eigenvectors kept (the constant one dropped)
    k: int = 10,  # neighbours in each cloud's graph
    seed: int | np.random.Generator = 0,  # draw of the cross-connected points
) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
    "Restricted coupled eigenmaps [(n_i, maps)], cross points S of cloud 0 (m,), partners a_j(S) (m,) for j ≥ 1."
    rng = np.random.default_rng(seed)
    graphs = [knn_graph(c, k) for c in clouds]
    hub = check_points(clouds[0], dim=3, name="clouds[0]")
    chosen = None
    couplings, partners = {}, []
    for j, other in enumerate(clouds[1:], start=1):
        if chosen is None:
            chosen, nearest, weights = cross_edges(other, hub, cross, rng)
        else:  # every cloud is linked from the same points of cloud 0
            dist, nearest = cKDTree(check_points(other, dim=3)).query(hub[chosen])
            weights = np.exp(-(dist**2) / max(float(np.max(dist**2)), 1e-300))
        couplings[(0, j)] = coupling_matrix(len(other), len(hub), chosen, nearest, weights).T
        partners.append(nearest)
    L_c, D, offsets = coupled_laplacian(graphs, couplings)
    _, vectors = generalized_eigenmaps(L_c, D, maps)
    return [vectors[offsets[i]:offsets[i + 1]] for i in range(len(clouds))], chosen, partners

# %% [markdown]
# ## Anomaly scores
#
# With the target as cloud 0 and the nominal reference as cloud 1, the anomaly score of a cross-connected target point
# is the cosine distance between its row of the coupled eigenmaps and its partner's row. The three baselines of the
# paper's ablation: the Euclidean distance to the nearest reference point; **GPS**, the two clouds' own eigenmaps
# compared directly (their signs and order are arbitrary, which is the problem coupling solves); and **Hist**, the
# uncoupled eigenmaps first matched by a Hungarian assignment on the Bhattacharyya distance between histograms of each
# eigenvector and its negative.

# %%
#| export
def cosine_distance_rows(
    u: np.ndarray,  # (m, d)
    v: np.ndarray,  # (m, d)
) -> np.ndarray:
    "1 − cos(u_i, v_i) for each pair of rows, (m,) in [0, 2]; a zero row has distance 1."
    if u.shape != v.shape:
        raise ValueError(f"u and v must have the same shape, got {u.shape} and {v.shape}")
    norms = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)
    cos = np.divide(np.sum(u * v, axis=1), norms, out=np.zeros(len(u)), where=norms > 0)
    return 1.0 - cos


def coupled_scores(
    reference: np.ndarray,  # (n_a, 3) nominal cloud, registered to the target
    target: np.ndarray,  # (n_b, 3) test cloud
    cross: float = 0.5,
    maps: int = 30,
    k: int = 10,
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    "Coupled-Laplacian anomaly score per target point (n_b,); points without a cross edge get 0."
    (phi_t, phi_r), chosen, (partner,) = coupled_eigenmaps([target, reference], cross, maps, k, seed)
    scores = np.zeros(len(target))
    scores[chosen] = cosine_distance_rows(phi_t[chosen], phi_r[partner])
    return scores


def euclidean_scores(reference: np.ndarray, target: np.ndarray) -> np.ndarray:
    "Distance of each target point to its nearest reference point, (n_b,)."
    return cKDTree(check_points(reference, dim=3, name="reference")).query(
        check_points(target, dim=3, name="target"))[0]


def gps_scores(reference: np.ndarray, target: np.ndarray, maps: int = 30, k: int = 10) -> np.ndarray:
    "Uncoupled eigenmaps compared directly at nearest-neighbour pairs, (n_b,)."
    _, phi_r = laplacian_eigenmaps(reference, maps, k)
    _, phi_t = laplacian_eigenmaps(target, maps, k)
    nearest = cKDTree(reference).query(target)[1]
    return cosine_distance_rows(phi_t, phi_r[nearest])


def bhattacharyya_distance(p: np.ndarray, q: np.ndarray) -> float:
    "−log Σ √(p q) of two histograms (normalised here); infinite when they do not overlap."
    p, q = np.asarray(p, float) / np.sum(p), np.asarray(q, float) / np.sum(q)
    coefficient = float(np.sum(np.sqrt(p * q)))
    return -math.log(coefficient) if coefficient > 0 else math.inf


def match_eigenmaps(
    phi_a: np.ndarray,  # (n_a, m) eigenmaps of cloud A
    phi_b: np.ndarray,  # (n_b, m) eigenmaps of cloud B
    bins: int = 200,
) -> np.ndarray:
    "phi_b's columns reordered and sign-flipped to match phi_a's by histogram shape, (n_b, m)."
    m = phi_a.shape[1]
    cost, signs = np.zeros((m, m)), np.ones((m, m))
    for i in range(m):
        for j in range(m):
            lo = min(phi_a[:, i].min(), -np.abs(phi_b[:, j]).max())
            hi = max(phi_a[:, i].max(), np.abs(phi_b[:, j]).max())
            h_a = np.histogram(phi_a[:, i], bins, (lo, hi))[0]
            same = bhattacharyya_distance(h_a, np.histogram(phi_b[:, j], bins, (lo, hi))[0])
            flipped = bhattacharyya_distance(h_a, np.histogram(-phi_b[:, j], bins, (lo, hi))[0])
            cost[i, j], signs[i, j] = min(same, flipped), (1.0 if same <= flipped else -1.0)
    cost = np.where(np.isfinite(cost), cost, 1e6)
    rows, cols = linear_sum_assignment(cost)
    return phi_b[:, cols] * signs[rows, cols]


def hist_scores(reference: np.ndarray, target: np.ndarray, maps: int = 30, k: int = 10,
                bins: int = 200) -> np.ndarray:
    "Uncoupled eigenmaps aligned by histogram matching, compared at nearest-neighbour pairs, (n_b,)."
    _, phi_r = laplacian_eigenmaps(reference, maps, k)
    _, phi_t = laplacian_eigenmaps(target, maps, k)
    nearest = cKDTree(reference).query(target)[1]
    return cosine_distance_rows(match_eigenmaps(phi_r, phi_t, bins), phi_r[nearest])

# %% [markdown]
# ## Metrics on the image grid
#
# MVTec 3D-AD scores anomaly maps on the xyz image's pixel grid. Scores of the cloud's points go back to their pixels
# (points without a score, and pixels without a point, get 0); a grey closing with a disk as wide as the subsampling
# stride fills the gaps between scored points. **AUPRO@30%**: for each threshold, the per-region overlap is the mean,
# over every connected ground-truth region of every test image, of the fraction of the region above the threshold;
# plotted against the false-positive rate on nominal pixels and integrated up to FPR 0.3, divided by 0.3.

# %%
#| export
def scores_to_image(
    scores: np.ndarray,  # (n,) a score per point
    pixels: np.ndarray,  # (n,) flat pixel index of each point
    shape: tuple[int, int],  # (H, W)
    stride: int = 1,  # subsampling stride: closing radius (1: no closing)
) -> np.ndarray:
    "An (H, W) anomaly map: each point's score at its pixel, then a grey closing with a disk of radius `stride`."
    image = np.zeros(shape[0] * shape[1])
    image[np.asarray(pixels)] = scores
    image = image.reshape(shape)
    if stride > 1:
        yy, xx = np.mgrid[-stride:stride + 1, -stride:stride + 1]
        image = ndimage.grey_closing(image, footprint=(yy**2 + xx**2) <= stride**2)
    return image


def pro_curve(
    score_maps: np.ndarray,  # (T, H, W) anomaly maps
    masks: np.ndarray,  # (T, H, W) bool ground truth
    valid: np.ndarray | None = None,  # (T, H, W) bool pixels that count (None: all)
    thresholds: int = 1000,  # the most thresholds (quantiles of all scores when there are more distinct ones)
) -> tuple[np.ndarray, np.ndarray]:
    "False-positive rates (t,) ascending and per-region overlaps (t,) over a sweep of thresholds."
    score_maps, masks = np.asarray(score_maps, float), np.asarray(masks, bool)
    if score_maps.shape != masks.shape or score_maps.ndim != 3:
        raise ValueError(f"score_maps and masks must both be (T, H, W), got {score_maps.shape} and {masks.shape}")
    valid = np.ones_like(masks) if valid is None else np.asarray(valid, bool)
    region_scores = []  # the scores inside each connected ground-truth region, of every map
    for scores, mask in zip(score_maps, masks):
        labels, count = ndimage.label(mask)
        region_scores += [np.sort(scores[labels == r]) for r in range(1, count + 1)]
    if not region_scores:
        raise ValueError("the ground truth has no anomalous region")
    nominal = np.sort(score_maps[valid & ~masks])
    if nominal.size == 0:
        raise ValueError("there are no nominal pixels to measure false positives on")
    everything = score_maps[valid | masks]
    levels = np.unique(everything)  # exact when there are few distinct scores, quantiles otherwise
    if len(levels) > thresholds:
        levels = np.unique(np.quantile(everything, np.linspace(0, 1, thresholds)))
    levels = levels[::-1]
    levels = np.concatenate([[np.inf], levels, [-np.inf]])  # from nothing flagged to everything flagged
    share_above = lambda values: 1.0 - np.searchsorted(values, levels, side="left") / len(values)
    fpr = share_above(nominal)
    overlap = np.mean([share_above(values) for values in region_scores], axis=0)
    return fpr, overlap


def aupro(score_maps: np.ndarray, masks: np.ndarray, valid: np.ndarray | None = None, max_fpr: float = 0.3,
          thresholds: int = 1000) -> float:
    "Area under the PRO curve up to `max_fpr`, normalised so that a perfect detector scores 1."
    fpr, pro = pro_curve(score_maps, masks, valid, thresholds)
    end = float(np.interp(max_fpr, fpr, pro))
    keep = fpr <= max_fpr
    x, y = np.concatenate([fpr[keep], [max_fpr]]), np.concatenate([pro[keep], [end]])
    return float(np.trapezoid(y, x) / max_fpr)


def pixel_auroc(score_maps: np.ndarray, masks: np.ndarray, valid: np.ndarray | None = None) -> float:
    "ROC AUC of all (valid) pixels' scores against the ground truth."
    valid = np.ones(np.shape(masks), bool) if valid is None else np.asarray(valid, bool)
    return float(roc_auc_score(np.asarray(masks, bool)[valid], np.asarray(score_maps, float)[valid]))

# %% [markdown]
# ## Bone side estimation
#
# Is a target bone from the same side as a source bone of known side? Scale the target to the source's length,
# measured along the Fiedler vector (the mean of the points at each end of its ordering); mirror the source along its
# second principal axis; register both source and mirror to the target; couple all three clouds in one eigenproblem;
# and compare the target's restricted eigenspace with each: the **Grassmann distance**
# $d_G(U, V) = \lVert \sin\boldsymbol\theta \rVert_2$ over the principal angles between the column spans. The nearer
# one names the side.

# %%
#| export
def grassmann_distance(
    U: np.ndarray,  # (n, p) columns spanning one subspace
    V: np.ndarray,  # (n, q) columns spanning another
) -> float:
    "‖sin θ‖₂ over the principal angles θ between span(U) and span(V)."
    Q_u, _ = np.linalg.qr(U / np.linalg.norm(U, axis=0))
    Q_v, _ = np.linalg.qr(V / np.linalg.norm(V, axis=0))
    cosines = np.clip(np.linalg.svd(Q_u.T @ Q_v, compute_uv=False), 0.0, 1.0)
    return float(np.linalg.norm(np.sqrt(1.0 - cosines**2)))


def fiedler_length(
    points: np.ndarray,  # (n, 3)
    ends: int = 100,  # points averaged at each end of the Fiedler ordering
    k: int = 10,
) -> float:
    "Length of an elongated cloud: distance between the means of the `ends` points at each end of its Fiedler vector."
    points = check_points(points, min_points=2 * ends, dim=3)
    _, fiedler = laplacian_eigenmaps(points, 1, k)
    order = np.argsort(fiedler[:, 0])
    return float(np.linalg.norm(points[order[:ends]].mean(0) - points[order[-ends:]].mean(0)))


def mirror_second_axis(points: np.ndarray) -> np.ndarray:
    "The cloud reflected across the plane normal to its second principal axis (n, 3): the other side's bone."
    points = check_points(points, min_points=3, dim=3)
    centre = points.mean(0)
    _, _, axes = np.linalg.svd(points - centre, full_matrices=False)
    normal = axes[1]
    return points - 2.0 * np.outer((points - centre) @ normal, normal)


def chamfer_distance(a: np.ndarray, b: np.ndarray) -> float:
    "Mean nearest-neighbour distance from a to b plus from b to a."
    return float(cKDTree(b).query(a)[0].mean() + cKDTree(a).query(b)[0].mean())


def hausdorff_distance(a: np.ndarray, b: np.ndarray) -> float:
    "Largest nearest-neighbour distance in either direction."
    return float(max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0]))

"""AMG: the kit's batched nL2 nearest-neighbour search against scikit-learn's NearestNeighbors, and the cost of
AMG's guided sampling against plain classifier-free guidance at equal steps."""
import torch
from sklearn.neighbors import NearestNeighbors

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.diffusion import TimeMLP, alphas_cumprod_schedule
from cvkit.papers.amg import Guidance, amg_sample, nl2_similarity, normalized_l2


def run(quick: bool = False) -> list[BenchmarkRow]:
    """Top-50 search on 64-d items (digits-sized), and AMG vs CFG sampling on a small MLP ε-model."""
    gen = torch.Generator().manual_seed(0)
    rows = []
    for n in ((2000,) if quick else (2000, 20000)):
        bank, queries = torch.randn(n, 64, generator=gen), torch.randn(300, 64, generator=gen)
        _, ours = normalized_l2(queries, bank, 50)
        theirs = NearestNeighbors(n_neighbors=50).fit(bank.numpy()).kneighbors(queries.numpy())[1][:, 0]
        rows.append(BenchmarkRow(
            chapter="amg", case=f"top-50 of 300 in {n}", reference="sklearn NearestNeighbors",
            ours_s=fastest(lambda: normalized_l2(queries, bank, 50), 3),
            reference_s=fastest(lambda: NearestNeighbors(n_neighbors=50).fit(bank.numpy()).kneighbors(queries.numpy()), 3),
            quality=f"same nearest item {100 * (ours.numpy() == theirs).mean():.0f}%"))
    torch.manual_seed(0)
    model, ac = TimeMLP(8, 128, 3, num_classes=2), alphas_cumprod_schedule(100).float()
    bank = torch.randn(500, 8, generator=gen)
    y, null = torch.zeros(256, dtype=torch.long), torch.full((256,), 2)
    sample = lambda g: amg_sample(lambda x, t, c: model(x, t, c), (256, 8), ac, y, null, nl2_similarity(bank),
                                  lambda t: -0.5, g, num_steps=10 if quick else 50)
    rows.append(BenchmarkRow(
        chapter="amg", case="sampling 256, AMG vs CFG", reference="the same loop, gate never open",
        ours_s=fastest(lambda: sample(Guidance(3.0, 5.0, 0.0, 5.0, gate="always", strength="constant")), 2),
        reference_s=fastest(lambda: sample(Guidance(3.0, gate="never")), 2),
        quality="time ratio = AMG's overhead (every step guided)"))
    return rows

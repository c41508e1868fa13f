from cvkit.papers.semgud import CONFIGS, make_reconstructor, r_flops
print("R fwd per 64² crop GFLOP", r_flops(make_reconstructor(CONFIGS["gpu"]), 64) / 1e9)

import sys, time, pickle, dataclasses, numpy as np, torch
torch.set_num_threads(1)
from cvkit.core.backbones import load_mobilenet_v2
from cvkit.core.claims import replicate_seeds
from cvkit.papers import glow as G
backbone = load_mobilenet_v2()
cfg = dataclasses.replace(G.CONFIGS["laptop"], blackbox=False)
t0 = time.time()
world = G.build_world(backbone, cfg, 0)
print("world", time.time() - t0, flush=True)
seed = replicate_seeds(0, cfg.replicates)[0]
captured = {}
real = G.attack_images
def fake(backbone, head, images, layouts, plans, *, eps, steps, batch=16):
    captured.update(head=head, images=images, layouts=layouts, plans=plans, eps=eps, steps=steps)
    raise KeyboardInterrupt
G.attack_images = fake
try:
    G.run_replicate(backbone, world, cfg, seed, identity_check=4)
except KeyboardInterrupt:
    pass
print("replicate set up", time.time() - t0, len(captured["plans"]), flush=True)
torch.save(captured, "/tmp/glowprobe/captured.pt")

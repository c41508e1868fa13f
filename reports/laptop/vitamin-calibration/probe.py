import sys, time, math, torch, numpy as np
torch.set_num_threads(1)
from torch import nn
from cvkit.papers.vitamin import *
from cvkit.core.clip import LockedText, train_clip
from cvkit.core.claims import numpy_stream, torch_stream, seeded_init
def timm_init(m):
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            fan_out = mod.kernel_size[0] * mod.kernel_size[1] * mod.out_channels // mod.groups
            nn.init.normal_(mod.weight, 0, math.sqrt(2.0 / fan_out))
            if mod.bias is not None: nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.Linear):
            nn.init.trunc_normal_(mod.weight, std=0.02)
            if mod.bias is not None: nn.init.zeros_(mod.bias)
designs = eval(sys.argv[1]); towers = sys.argv[2].split(","); reps = [int(r) for r in sys.argv[3].split(",")]
size = sys.argv[4]; inits = sys.argv[5].split(",")
sett = tower_settings(size, 32)
text = LockedText()
for r in reps:
    maxn = max(d[1] for d in designs)
    imgs, caps, _ = make_pairs(maxn, numpy_stream(r, "data"), size=32)
    ev = make_eval_set(256, numpy_stream(r, "eval"), size=32)
    text.add(sorted(set(caps) | set(ev.retrieval_captions) | set(all_prompts())))
    ch = chance_levels(ev)
    for name, n, ep, b, lr in designs:
        I = torch.as_tensor(imgs[:n]).repeat(ep, 1, 1, 1); C = list(caps[:n]) * ep
        for t in towers:
          for ini in inits:
            t0 = time.process_time()
            with seeded_init(r, f"init/{size}/{t}"):
                m = build_tower(*sett[t])
                if ini == "timm": timm_init(m)
            h = train_clip(m, text, I, C, batch=b, lr=lr, order=torch_stream(r, f"order/{n}"))
            s = evaluate(m, text, ev)
            print(f"rep {r} {name:8s} {size} {t:8s} {ini:5s} cpu {time.process_time()-t0:6.1f}s avg {s['avg-tasks']-ch['avg-tasks']:+5.1f} "
                  + " ".join(f"{k[:6]} {s[k]-ch[k]:+5.1f}" for k in s if k != 'avg-tasks') + f" loss {np.mean(h['loss'][-5:]):.2f}", flush=True)

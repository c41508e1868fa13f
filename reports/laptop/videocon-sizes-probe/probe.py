"""Timing probe (item 2): what the issue's laptop sizes (2,000 + 500 clips, d = 128, 3,000 steps) cost on one core."""
import time, json, torch, numpy as np
torch.set_num_threads(1)
from cvkit.core.backbones import load_mobilenet_v2, video_tokens
from cvkit.papers.videocon import (make_clips, cache_text, Features, TrainConfig, train_entailment, TRAIN_TYPES,
                                   explanation_targets, _words)
out = {}
bb = load_mobilenet_v2()
n = 60
t = time.process_time(); clips = make_clips(n, 999, n_frames=8, size=64, types=TRAIN_TYPES, progress=False); out["render_s_per_clip"] = (time.process_time() - t) / n
t = time.process_time(); tok = video_tokens(bb, clips.frames, size=64, layer=13, grid=2, progress=False); out["tokens_s_per_clip"] = (time.process_time() - t) / n
strings = clips.captions + [x for p in clips.pairs for x in (p.caption, p.contrast)]
t = time.process_time(); text, mask, rows = cache_text(strings); out["text_s_per_clip"] = (time.process_time() - t) / n
out["strings_per_clip"] = len(set(strings)) / n
feats = Features(tok, text, mask, rows)
words = {w: i for i, w in enumerate(["<unk>", "nothing"] + sorted({w for p in clips.pairs for w in _words(p.caption)}))}
pairs = {}
for p in clips.pairs: pairs.setdefault(p.clip, []).append(p)
targets = {p: explanation_targets(p, words) for p in clips.pairs}
for name, tc in {"chapter (d 64, batch 32)": TrainConfig(steps=15, batch=32, d=64),
                 "issue (d 128, batch 64)": TrainConfig(steps=15, batch=64, d=128)}.items():
    train_entailment(feats, np.arange(n), clips.captions, pairs, targets, len(words), TrainConfig(steps=2, batch=tc.batch, d=tc.d), seed=1, contrast_fraction=1.0, progress=False)
    t = time.process_time()
    train_entailment(feats, np.arange(n), clips.captions, pairs, targets, len(words), tc, seed=1, contrast_fraction=1.0, progress=False)
    out[f"step_s {name}"] = (time.process_time() - t) / tc.steps
print(json.dumps(out, indent=1))

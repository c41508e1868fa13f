# ---
# jupyter:
#   cvkit:
#     paper: 14-flowmdm-human-motion-composition
#     scales: [smoke, laptop, gpu]
#   kernelspec:
#     display_name: python3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # FlowMDM: Seamless Human Motion Composition with Blended Positional Encodings
#
# > Work in progress: the library pieces of the chapter (segments, masks, rotary embeddings, the BPE schedule, and the
# > jerk metrics). The denoiser, the experiment and the claims are not written yet.

# %% tags=["parameters"]
SCALE = "smoke"
SEED = 0
DEVICE = "auto"

# %%
#| default_exp papers.flowmdm

# %%
#| export
from collections.abc import Sequence

import numpy as np
import torch

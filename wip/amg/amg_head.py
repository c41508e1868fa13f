# ---
# jupyter:
#   cvkit:
#     paper: 01-amg-anti-memorization-guidance
#     scales: [smoke, laptop, gpu]
#   kernelspec:
#     display_name: python3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Anti-Memorization Guidance: towards memorization-free diffusion models
#
# > Work in progress: detection (nL2, cosine), the thresholds λ_t and the three guidances. The experiment, the
# > Stable-Diffusion-components path and the claims are not written yet.

# %% tags=["parameters"]
SCALE = "smoke"
SEED = 0
DEVICE = "auto"

# %%
#| default_exp papers.amg

# %%
#| export
import math

import torch
import torch.nn.functional as F

import sys, numpy as np; sys.path.insert(0, '/tmp/cl')
from cl import *
src = make_femur("right", 1500, seed=1); tgt = make_femur("right", 1500, seed=2)
tgt = tgt * fiedler_length(src) / fiedler_length(tgt)
same, rms1 = pca_align_icp(src, tgt); mir, rms2 = pca_align_icp(mirror_second_axis(src), tgt)
print("rms", rms1, rms2)
for clouds in ([tgt, same], [tgt, same, mir]):
    phis, ch, parts = coupled_eigenmaps(clouds, 0.5, 20, seed=0)
    for j, (phi, a) in enumerate(zip(phis[1:], parts)):
        mis = np.linalg.norm(phis[0][ch] - phi[a], axis=0) / np.linalg.norm(phis[0][ch], axis=0)
        print(len(clouds), j, np.round(mis, 2).tolist(), round(grassmann_distance(phis[0][ch], phi[a]), 3))

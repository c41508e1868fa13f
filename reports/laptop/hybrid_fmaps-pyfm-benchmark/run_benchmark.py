"""One run of our LBO pipeline against pyFM's on lion → cat (issue 20's benchmark): writes result.json beside this file.
Needs pyFM (`pyfmaps`, a dev extra) and the research-use lion → cat files in the shared data folder (never copied)."""
import json
import os
import sys
from pathlib import Path

from benchmarks.hybrid_fmaps import lion_cat_vs_pyfm
from cvkit.core.chapters import shared_data_dir
from cvkit.papers.hybrid_fmaps import lion_cat_files, lion_cat_pair

files = lion_cat_files(shared_data_dir())
if files is None:
    sys.exit("the lion → cat files are not in the shared data folder")
row, numbers = lion_cat_vs_pyfm(lion_cat_pair(files))
import pyFM._version
numbers.update(pyfmaps=pyFM._version.__version__, omp_num_threads=os.environ.get("OMP_NUM_THREADS"))
print(row)
print(json.dumps(numbers, indent=1))
(Path(__file__).parent / "result.json").write_text(json.dumps(numbers, indent=1) + "\n")

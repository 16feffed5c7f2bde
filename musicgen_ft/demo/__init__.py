"""``python -m musicgen_ft.demo --out demo_out``: the whole job end to end, on synthetic audio.

What ``make demo`` runs. Nothing is downloaded and nothing outside ``--out`` is written:

1. **Corpus.** Synthesise a small MagnaTagATune look-alike in the real layout: mp3 folders
   ``0``-``f`` of 16 kHz mono clips and a tab-separated ``annotations_final.csv`` with all 188
   tag columns. Half of the playable clips are amapiano-style grooves with a log-drum line
   (:func:`logdrum.synth.groove`), half are not (the same grooves without it, bass lines,
   noise, tones), and two are broken as a few real MTAT files are (empty, and a constant-bitrate
   mp3 cut short, which decodes without error: only its length gives it away). Tags are
   deliberately unhelpful: clips without log drums carry the most amapiano-looking tags.
2. **Dataset.** :func:`logdrum.dataset.build_dataset` scores every clip, excludes the broken
   ones (the truncated clip for its length) and keeps the top ones; the demo checks the
   selection against what it synthesised.
3. **Validate.** :func:`logdrum.dataset.validate.validate` on the corpus (it must find exactly
   the two planted broken files) and on the built dataset (it must find nothing).
4. **Fine-tune** the ``tiny`` MusicGen (same classes as musicgen-small, random weights) with
   ``python -m musicgen_ft.train`` as a real subprocess; SIGKILL it part-way, as a lost spot
   instance would, and run the same command again: it must say ``RESUMING``.
5. **Generate** clips from the fine-tuned model (``best_model/``, loaded with
   ``from_pretrained``) and from the untrained baseline, with the same prompts and seeds.
6. **Evaluate and decide.** :func:`evaluation.build_report` measures authenticity, compares with
   the baseline and writes ``report.md``, ``decision.json`` and its plots.

It prints where every artefact is, ends with the decision, and writes the numbers of the run
to ``<out>/demo_summary.json``. Exit status: 0 when every stage ran (whatever the verdict),
1 when a stage failed, 2 for bad arguments.

A tiny random model trained for a minute on a CPU does not make log drums, and the demo says
so: its decision is NO-GO. The point is that every piece runs, is wired to the next, and
measures honestly.
"""

from .cli import main
from .common import FULL, QUICK, DemoError, DemoSize
from .corpus import write_mtat_corpus
from .pipeline import run_demo

__all__ = ["main", "run_demo", "DemoSize", "FULL", "QUICK", "write_mtat_corpus", "DemoError"]

"""The project's success criteria and budget: the one source of every default number.

They come from the operational checklist the project grew from, for a fine-tune of
MusicGen-small on a spot GPU (a T4 at about $0.39/h):

- **Week-5 decision (GO / NO-GO)** after 5 weeks = 840 h of machine time: authenticity (share of
  generated clips that hold log drums) at least 35 %, against the 10-20 % the base model is
  expected to reach; best validation loss at most 3.5; spend within the $600 budget; training
  stable (no NaN/Inf loss, no more than 3 spot interruptions a day).
- **Budget**: $600 in all, a warning at 80 % of it; the plan is 8 weeks = 1344 h.
Every module that needs one of these numbers imports it from here: the decision
(:mod:`evaluation.decision`), the cost dashboard (:mod:`evaluation.cost`), the plots, the
command line and the fine-tune's config (:mod:`musicgen_ft.config`). The divergence alerts of
the first hours (NaN/Inf loss, a loss above 10 after step 100, a loss stuck at 4.5+ for 500
steps, spikes) are training settings, not success criteria: their defaults are the
``alert_*``, ``stall_*`` and ``spike_factor`` keys of :class:`musicgen_ft.config.TrainConfig`.
"""

MIN_AUTHENTICITY = 0.35
BASELINE_BAND = (0.10, 0.20)
MAX_VAL_LOSS = 3.5
MAX_RESTARTS_PER_DAY = 3.0

SPOT_RATE_USD_PER_HOUR = 0.39
BUDGET_USD = 600.0
BUDGET_WARNING_FRACTION = 0.8
HOURS_PER_WEEK = 168.0
DECISION_HOURS = 5 * HOURS_PER_WEEK
PLANNED_HOURS = 8 * HOURS_PER_WEEK

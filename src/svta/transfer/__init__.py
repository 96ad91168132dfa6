"""Cross-dataset evaluation with contamination control: evaluation sets from other datasets (UCFCrime-AR,
UCA, any svta manifest), a train/eval overlap checker (exact, near-duplicate and same-video matches), and
zero-shot transfer metrics reported on the full set and on the clean subset side by side.

Modules: ``sets`` (item sets read through :mod:`svta.datasets`, and their specs), ``overlap`` (the
checker), ``overlap_report`` (JSON/Markdown/histogram), ``framesig`` (near-duplicate videos), ``clean``
(subset metrics, SumR tables, build exclusions), ``evaluate`` (a model on an item set).
"""

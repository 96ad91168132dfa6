"""Stage 6, evaluation: text↔video retrieval metrics streamed block by block (R@K, MdR, MnR, matching
CLIP4Clip's ``compute_metrics`` in compat mode), re-ranking, breakdowns, tables and figures.

Modules: ``metrics`` (results, dense ``compute_metrics``), ``streaming`` (``stream_ranks``,
``evaluate_embeddings``, ``evaluate_model_scores``), ``rerank``, ``breakdown``, ``report``, ``figures``.
"""

"""svta: scalable video anomaly retrieval.

Build synthetic video-text anomaly benchmarks (captions -> videos -> labels -> dataset) and train,
evaluate and serve text-video retrieval models. Importing svta is cheap: heavy libraries load lazily.
"""

__version__ = "0.1.0"

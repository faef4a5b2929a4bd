"""The anomaly service (``htmkit serve``): many streams, each an
:class:`~htmkit.detector.AnomalyDetector`, behind an HTTP API (FastAPI), kept durable in SQLite
and snapshot files, with a dashboard.

:mod:`~htmkit.service.backend` holds the streams (the :class:`~htmkit.service.backend.Backend`
interface, the in-process :class:`~htmkit.service.backend.LocalBackend`),
:mod:`~htmkit.service.store` their durability, :mod:`~htmkit.service.app` the HTTP app
(``create_app``). FastAPI and uvicorn (the ``service`` extra) are imported only by the app.
"""

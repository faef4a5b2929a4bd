"""Applications built on the library and the benchmarks: the demo (``htmkit demo``) and the
stream runner behind ``htmkit run`` / ``htmkit anomaly``.

They sit above :mod:`htmkit.bench` and below the command line (:mod:`htmkit.cli`); nothing in
the library imports them.
"""

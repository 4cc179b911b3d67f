"""Internals of :mod:`tokenmeter.batch` and :class:`tokenmeter.Meter` (not public).

``frame`` reads and writes the containers (Arrow, pandas, Polars, dicts of numpy arrays),
``count`` turns rows into token counts through the vectorized kernels, ``price`` prices
them through :func:`tokenmeter.pricing.batch.price_array`, and ``usage`` says which
:class:`~tokenmeter.Usage` fields a row (or a meter's aggregate) fills under a price book.
"""

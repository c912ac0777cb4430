"""The embedded local Kaggle: a Kaggle on this machine that stores and runs kernels the way Kaggle does, so
everything can be tried, timed and tested without an account.

One module per part:

``backend``        :class:`LocalBackend`, the :class:`~kaggle_magics.backends.base.Backend` over the store
``kernel_folder``  a kernel folder read and checked as ``kaggle kernels push`` reads it
``submissions``    competitions, submissions and the check of a submission file
``scorer``         Kaggle's checks of a submission.csv against the sample submission, with Kaggle's names
``uploads``        datasets and models, and what Kaggle does to archives in datasets
``admin``          ``kaggle-magics local competition add|list``, ``kaggle-magics local image build``
``store``          the on-disk store: plain JSON and folders, versions renamed into place under a lock
``runs``           a run folder: spec, status, log, results
``spec``           what a run gets: inputs in the input layout, limits, what the scorer checks, a hidden test
``limits``         Kaggle's limits per machine shape, and what this machine can give of them
``runner``         the supervisor: prepares a run, starts the executor in the sandbox, enforces the timeout
``executor``       inside the sandbox: the notebook executed with nbclient, reported as events
``monitor``        inside the sandbox: the kernel's memory and /kaggle/working watched, the limits enforced
``environment``    the kernel's Python environment (the image twin, or ``--env user``) and variables
``image``          the image twin: what Kaggle's image would give this notebook, cached per package set
``image_build``    building an image twin with uv, from the user's configured index
``interpreters``   the Python an image twin is built on (Kaggle's 3.12 when the machine has one)
``sandbox``        the box laid out like a Kaggle session (``/kaggle/input``, ``/kaggle/working``, no network)
``mountns``        the ``unshare`` sandbox's view, built with the kernel's mount calls (no bubblewrap needed)
``credentials``    where this machine keeps Kaggle credentials, so that runs never see them
``processes``      process helpers (children that die with their parent, trees killed whole)
``rehearse``       ``kaggle-magics rehearse``: a run now, in the foreground

Importing this package imports none of them.
"""

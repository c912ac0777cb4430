"""Which distribution provides an imported module, and which modules the standard library has.

An import names a module (``sklearn``, ``cv2``, ``google.cloud.storage``); an image list or a bundle names
distributions (``scikit-learn``, ``opencv-python``, ``google-cloud-storage``). :func:`candidates` gives the
distributions a module may come from, best first: an installed environment's own metadata when one is given
(what ``importlib.metadata.packages_distributions`` reports), then a maintained table of the names that
differ, then the module's own name (``lightgbm`` -> ``lightgbm``; dotted names also as ``google-cloud-storage``).
:func:`provider` picks the first that a set of distributions (a base snapshot, a bundle) holds.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Mapping

from packaging.utils import canonicalize_name

# module (or dotted prefix) -> distributions that install it, the usual one first.
KNOWN: dict[str, tuple[str, ...]] = {
    "sklearn": ("scikit-learn",),
    "skimage": ("scikit-image",),
    "skopt": ("scikit-optimize",),
    "skmultilearn": ("scikit-multilearn",),
    "scikitplot": ("scikit-plot",),
    "surprise": ("scikit-surprise",),
    "cv2": ("opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"),
    "PIL": ("pillow",),
    "yaml": ("pyyaml",),
    "ruamel": ("ruamel-yaml",),
    "bs4": ("beautifulsoup4",),
    "dateutil": ("python-dateutil",),
    "dotenv": ("python-dotenv",),
    "jwt": ("pyjwt",),
    "Crypto": ("pycryptodome",),
    "Cryptodome": ("pycryptodomex",),
    "OpenSSL": ("pyopenssl",),
    "attr": ("attrs",),
    "git": ("gitpython",),
    "dns": ("dnspython",),
    "zmq": ("pyzmq",),
    "serial": ("pyserial",),
    "usb": ("pyusb",),
    "magic": ("python-magic",),
    "docx": ("python-docx",),
    "pptx": ("python-pptx",),
    "fitz": ("pymupdf",),
    "Levenshtein": ("levenshtein", "python-levenshtein"),
    "Bio": ("biopython",),
    "absl": ("absl-py",),
    "grpc": ("grpcio",),
    "google.protobuf": ("protobuf",),
    "google.genai": ("google-genai",),
    "google.generativeai": ("google-generativeai",),
    "google.colab": ("google-colab",),
    "googleapiclient": ("google-api-python-client",),
    "google_auth_oauthlib": ("google-auth-oauthlib",),
    "google.auth": ("google-auth",),
    "google.api_core": ("google-api-core",),
    "tensorflow_decision_forests": ("tensorflow-decision-forests",),
    "tf_keras": ("tf-keras",),
    "keras_hub": ("keras-hub",),
    "keras_nlp": ("keras-nlp",),
    "keras_cv": ("keras-cv",),
    "kerastuner": ("keras-tuner",),
    "keras_tuner": ("keras-tuner",),
    "pytorch_lightning": ("pytorch-lightning",),
    "lightning": ("lightning", "pytorch-lightning"),
    "ignite": ("pytorch-ignite",),
    "umap": ("umap-learn",),
    "community": ("python-louvain", "community"),
    "faiss": ("faiss-cpu", "faiss-gpu"),
    "llama_cpp": ("llama-cpp-python",),
    "sentence_transformers": ("sentence-transformers",),
    "huggingface_hub": ("huggingface-hub",),
    "mpl_toolkits": ("matplotlib",),
    "pkg_resources": ("setuptools",),
    "setuptools": ("setuptools",),
    "_distutils_hack": ("setuptools",),
    "distutils": ("setuptools",),  # gone from the standard library in 3.12; setuptools brings a shim
    "IPython": ("ipython",),
    "ipykernel": ("ipykernel",),
    "jupyter_client": ("jupyter-client",),
    "jupyter_core": ("jupyter-core",),
    "polars": ("polars",),
    "igraph": ("igraph", "python-igraph"),
    "shapely": ("shapely",),
    "osgeo": ("gdal",),
    "typing_extensions": ("typing-extensions",),
    "websocket": ("websocket-client",),
    "jose": ("python-jose",),
    "multipart": ("python-multipart",),
    "slugify": ("python-slugify",),
    "kaggle_environments": ("kaggle-environments",),
    "kaggle_secrets": (),  # part of Kaggle's runtime (no distribution)
    "kaggle_datasets": (),
    "kaggle_web_client": (),
}

# Modules of the standard library that a newer Python no longer has (a notebook written for an older one
# fails on Kaggle's 3.12): "3.12" -> removed in 3.12, and so on.
REMOVED = {
    "3.12": frozenset({"distutils", "imp", "asynchat", "asyncore", "smtpd"}),
    "3.13": frozenset(
        {"aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib", "nis", "nntplib",
         "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib", "lib2to3"}
    ),
}  # fmt: skip


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:2] if p.isdigit())


def removed_from_stdlib(module: str, python: str) -> str | None:
    """The Python version that removed ``module`` from the standard library, if ``python`` no longer has it."""
    top = module.split(".", 1)[0]
    for version, names in REMOVED.items():
        if top in names and _version_key(python) >= _version_key(version):
            return version
    return None


def is_stdlib(module: str, python: str | None = None) -> bool:
    """True when the standard library of ``python`` (default: this one) has ``module``'s top level.

    The list is this interpreter's (``sys.stdlib_module_names``), corrected by :data:`REMOVED` for a newer
    target; what a newer Python added is rare enough to leave out."""
    top = module.split(".", 1)[0]
    names: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    if top not in names and top not in ("__future__", "__main__"):
        return False
    return python is None or removed_from_stdlib(top, python) is None


def _prefixes(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def candidates(module: str, installed: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Distributions (canonical names) that may provide ``module``, best first.

    ``installed`` is ``importlib.metadata.packages_distributions()`` of an environment that holds the
    packages (top-level module -> distribution names), which knows better than any table."""
    found: list[str] = []

    def add(names: Iterable[str]) -> None:
        for name in names:
            canonical = str(canonicalize_name(name))
            if canonical not in found:
                found.append(canonical)

    top = module.split(".", 1)[0]
    if installed is not None and top in installed:
        add(installed[top])
    for prefix in _prefixes(module):
        if prefix in KNOWN:
            add(KNOWN[prefix])
            return found
    for prefix in _prefixes(module):  # google.cloud.storage -> google-cloud-storage, google-cloud, google
        add([prefix.replace(".", "-").replace("_", "-")])
    return found


def runtime_only(module: str) -> bool:
    """Modules that Kaggle's runtime provides outside any distribution (``kaggle_secrets``...)."""
    top = module.split(".", 1)[0]
    return top in KNOWN and not KNOWN[top]


def provider(
    module: str, available: Collection[str], installed: Mapping[str, Iterable[str]] | None = None
) -> str | None:
    """The first distribution among ``candidates(module)`` that ``available`` (canonical names) holds."""
    for name in candidates(module, installed):
        if name in available:
            return name
    return None

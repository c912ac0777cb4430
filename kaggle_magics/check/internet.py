"""The internet with the internet off: ``pip install`` (with the exact ``%kaggle_freeze`` line that would ship
the packages instead), ``wget``/``curl``/``git clone``, hub downloads (``from_pretrained("org/name")``,
``hf_hub_download``, ``load_dataset``, ``torch.hub.load``, pretrained weights), ``kagglehub.*_download``,
``requests``/``urllib`` of URLs, ``nltk.download``... each named.

An error when the kernel has the internet off; a warning when it has it on but attaches a competition (its
submission reruns offline); nothing otherwise, except pins that replace the image's version.
"""

from __future__ import annotations

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .context import Context
from .facts import CallFact
from .findings import WARNING
from .nodes import NOT_LITERAL
from .shell import Fetch, Pip, is_local_path, is_remote_url, quote, read_line

DEPS = "in a deps notebook (internet on), then push with --deps OWNER/DEPS-SLUG"
ATTACH_MODEL = (
    "attach the weights (a Kaggle Model: kaggle-magics model DIR --handle ...; or a dataset) and load them "
    "from /kaggle/input/..."
)
UPLOAD = "fetch it with the internet on, upload it as a dataset (kaggle-magics dataset DIR --id OWNER/SLUG), attach it"
_FETCH_FIXES = {
    "apt-get": "ship the .deb files in a dataset (apt-get download ...) and install them with dpkg -i",
    "apt": "ship the .deb files in a dataset (apt-get download ...) and install them with dpkg -i",
    "conda": "use pip packages: `%kaggle_freeze NAMES` " + DEPS,
    "mamba": "use pip packages: `%kaggle_freeze NAMES` " + DEPS,
    "pip download": "`%kaggle_freeze NAMES` " + DEPS,
    "huggingface-cli": ATTACH_MODEL,
    "hf": ATTACH_MODEL,
    "kaggle": "attach the source instead (--dataset, --competition, --attach, --model) and read /kaggle/input/...",
    "spacy": "ship the model's package: `%kaggle_freeze MODEL-WHEEL-URL` " + DEPS,
}
_BUILDERS = frozenset({
    "csv", "json", "parquet", "text", "arrow", "pandas", "imagefolder", "audiofolder", "videofolder",
    "webdataset", "sql", "xml", "generator", "spark",
})  # fmt: skip
_HF_CACHES = ("HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "SENTENCE_TRANSFORMERS_HOME")
_WEIGHT_FILES = (".bin", ".pt", ".pth", ".safetensors", ".json", ".onnx", ".h5", ".ckpt", ".gguf", ".pkl", ".model")
_FETCHERS = frozenset({
    "requests.get", "requests.post", "requests.put", "requests.head", "requests.request", "requests.patch",
    "requests.delete", "httpx.get", "httpx.post", "httpx.stream", "httpx.request", "urllib.request.urlopen",
    "urllib.request.urlretrieve", "urllib.request.Request", "urllib.urlopen", "urllib2.urlopen", "wget.download",
    "gdown.download", "gdown.download_folder", "torch.hub.load_state_dict_from_url", "torch.hub.download_url_to_file",
    "tensorflow.keras.utils.get_file", "keras.utils.get_file", "tf.keras.utils.get_file", "tensorflow_hub.load",
    "tensorflow_hub.KerasLayer", "git.Repo.clone_from",
})  # fmt: skip
_READERS = frozenset({
    "read_csv", "read_parquet", "read_json", "read_excel", "read_table", "read_html", "read_feather", "read_pickle",
    "read_fwf", "read_xml", "scan_csv", "scan_parquet", "load", "open", "loadtxt", "genfromtxt", "imread",
})  # fmt: skip


def check_internet(ctx: Context) -> None:
    severity = ctx.internet_severity()
    for command in ctx.commands():
        with ctx.maybe(command.conditional):
            if command.kind == "magic":
                _magic(ctx, command.magic or "", command.text, command.cell, command.line, severity)
            else:
                _shell(ctx, command.text, f"!{command.text}", command.cell, command.line, severity)
    if severity is not None:
        for call in ctx.facts.calls:
            with ctx.maybe(call.conditional):
                _call(ctx, call, severity)


def _magic(ctx: Context, magic: str, text: str, cell: int | None, line: int, severity: str | None) -> None:
    rest = text[len(magic) :].strip()
    if magic in ("pip", "uv"):
        _shell(ctx, f"pip {rest}" if magic == "pip" else f"uv {rest}", f"%{text}", cell, line, severity)
    elif magic in ("conda", "mamba"):
        _shell(ctx, text, f"%{text}", cell, line, severity)
    elif magic == "kaggle_freeze" and severity is not None and "--no-index" not in rest.split():
        ctx.add(
            "internet",
            severity,
            f"`%{text}` needs the package index: {ctx.why()}",
            "freeze in a deps notebook with the internet on, then push this one with --deps OWNER/DEPS-SLUG",
            cell,
            line,
        )


def _shell(ctx: Context, text: str, shown: str, cell: int | None, line: int, severity: str | None) -> None:
    pips, fetches = read_line(text)
    for pip in pips:
        _pip(ctx, pip, shown, cell, line, severity)
    if severity is None:
        return
    for fetch in fetches:
        _fetch(ctx, fetch, shown, cell, line, severity)


def _available(ctx: Context) -> dict[str, str]:
    """What is installed when the notebook's pip runs: the image, and the bundles an install cell puts first."""
    have = dict(ctx.target.settings.base.packages)
    if ctx.target.installs_bundles:
        for bundle in ctx.target.bundles:
            have.update(bundle.projects)
    return have


def _satisfied(requirement: str, have: dict[str, str]) -> bool | None:
    """True when pip finds ``requirement`` already installed (so it needs no index), None when unknown."""
    if "{" in requirement or "$" in requirement:
        return None
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return None
    if req.url:
        return False
    version = have.get(str(canonicalize_name(req.name)))
    if version is None:
        return False
    try:
        return req.specifier.contains(Version(version).public, prereleases=True) or not req.specifier
    except InvalidVersion:
        return None


def _pip(ctx: Context, pip: Pip, shown: str, cell: int | None, line: int, severity: str | None) -> None:
    have = _available(ctx)
    if severity is None:  # the internet is on: only pins that replace what the image has
        for requirement in pip.requirements:
            if _satisfied(requirement, have) is False and "==" in requirement:
                name = requirement.split("==")[0].split("[")[0].strip()
                image = ctx.target.settings.base.version_of(name)
                if image:
                    ctx.warning(
                        "internet",
                        f"`pip install {requirement}` replaces Kaggle's {name} {image}",
                        f"check that {image} works, or ship {requirement} in a bundle (`%kaggle_freeze {requirement}`)",
                        cell,
                        line,
                    )
        return
    if pip.no_index:
        return
    needed = [r for r in pip.requirements if pip.reinstall or _satisfied(r, have) is not True]
    if not needed and not pip.files:
        if pip.local and not pip.no_build_isolation and any(not p.endswith(".whl") for p in pip.local):
            ctx.warning(
                "internet",
                f"`{shown}` builds in an isolated environment whose build tools come from PyPI: {ctx.why()}",
                "build the wheel beforehand (`%kaggle_freeze PATH` builds it), or add --no-build-isolation",
                cell,
                line,
            )
        return
    if pip.find_links and not pip.index and all(is_local_path(f) for f in pip.find_links):
        ctx.warning(
            "internet",
            f"`{shown}` tries PyPI before its --find-links, which fails ({ctx.why()}) after retries",
            "add --no-index to install from the local folder only",
            cell,
            line,
        )
        return
    freeze = quote(needed) + "".join(f" -r {quote([f])}" for f in pip.files)
    names = ", ".join(needed + [f"-r {f}" for f in pip.files])
    ctx.add(
        "internet",
        severity,
        f"`{shown}` cannot reach PyPI ({ctx.why()}): {names} not installed",
        f"ship them: `%kaggle_freeze {freeze.strip()}` {DEPS}",
        cell,
        line,
    )


def _fetch(ctx: Context, fetch: Fetch, shown: str, cell: int | None, line: int, severity: str) -> None:
    tool = fetch.tool.split()[0]
    fix = _FETCH_FIXES.get(fetch.tool) or _FETCH_FIXES.get(tool) or UPLOAD
    target = f" {fetch.target}" if fetch.target and fetch.target not in shown else ""
    ctx.add("internet", severity, f"`{shown}`{target} needs the internet: {ctx.why()}", fix, cell, line)


def _hub_id(value: object) -> bool:
    """``org/name`` or ``name`` as the Hugging Face Hub names a repository (not a path, a URL or a file)."""
    if not isinstance(value, str) or not value or value.startswith(("/", ".", "~")) or "://" in value:
        return False
    if value.count("/") > 1 or any(c.isspace() for c in value) or "{" in value:
        return False
    return not value.lower().endswith(_WEIGHT_FILES)


def _mentioned_elsewhere(ctx: Context, value: str) -> bool:
    """``value`` written as something else too (a folder saved to, copied to): then it may be local."""
    if ctx.facts.counts.get(value, 0) > 1:
        return True
    return any(value in s.value and s.value != value for s in ctx.facts.strings) or any(
        value in c.text for c in ctx.commands()
    )


def _hub(ctx: Context, call: CallFact, value: object, severity: str, what: str) -> None:
    if not _hub_id(value) or _mentioned_elsewhere(ctx, str(value)):
        return
    cached = any(ctx.facts.counts.get(name) for name in _HF_CACHES) or "cache_dir" in call.kwargs
    certain = "/" in str(value) and not cached
    ctx.add(
        "internet",
        severity if certain else WARNING,
        f"`{call.name}({value!r})` {what} from the Hugging Face Hub: {ctx.why()}"
        + ("" if certain else " (unless a folder of that name or a cache holds it)"),
        ATTACH_MODEL,
        call.cell,
        call.line,
    )


def _call(ctx: Context, call: CallFact, severity: str) -> None:
    q, last = call.qualified, call.last
    if last == "from_pretrained":
        _hub(ctx, call, call.arg(0, "pretrained_model_name_or_path"), severity, "downloads")
    elif last in ("SentenceTransformer", "CrossEncoder"):
        _hub(ctx, call, call.arg(0, "model_name_or_path"), severity, "downloads")
    elif last == "pipeline" and q.startswith("transformers"):
        model = call.arg(1, "model")
        if model is None and "model" not in call.kwargs:
            ctx.add("internet", severity, f"`{call.name}(...)` without a model downloads its task's default model: "
                    f"{ctx.why()}", ATTACH_MODEL + " (pass model=PATH)", call.cell, call.line)  # fmt: skip
        else:
            _hub(ctx, call, model, severity, "downloads")
    elif last in ("hf_hub_download", "snapshot_download") and call.kwargs.get("local_files_only") is not True:
        ctx.add("internet", severity, f"`{call.name}(...)` downloads from the Hugging Face Hub: {ctx.why()}",
                ATTACH_MODEL, call.cell, call.line)  # fmt: skip
    elif last == "load_dataset" and q.startswith("datasets"):
        name = call.arg(0, "path")
        if name not in _BUILDERS and "data_files" not in call.kwargs and "data_dir" not in call.kwargs:
            _hub(ctx, call, name, severity, "downloads a dataset")
    elif q == "timm.create_model" and call.kwargs.get("pretrained") not in (None, False):
        if not {"checkpoint_path", "pretrained_cfg_overlay"} & set(call.kwargs):
            ctx.add("internet", severity, f"`{call.name}(..., pretrained=True)` downloads weights from the Hugging "
                    f"Face Hub: {ctx.why()}", ATTACH_MODEL + " (pretrained_cfg_overlay=dict(file=PATH))",
                    call.cell, call.line)  # fmt: skip
    elif q in ("torch.hub.load", "torch.hub.list", "torch.hub.help"):
        repo = call.arg(0, "repo_or_dir")
        local = isinstance(repo, str) and repo.startswith(("/", ".", "~"))  # else "owner/repo[:ref]" on GitHub
        if call.kwargs.get("source") != "local" and not local:
            ctx.add("internet", severity, f"`{call.name}({_show(repo)}, ...)` downloads from GitHub: {ctx.why()}",
                    "ship the repository and weights in a dataset; torch.hub.load(PATH, ..., source='local')",
                    call.cell, call.line)  # fmt: skip
    elif last in ("model_download", "dataset_download", "competition_download", "notebook_output_download"):
        if q.startswith("kagglehub"):
            _kagglehub(ctx, call, severity)
    elif q in ("nltk.download", "nltk.downloader.download"):
        ctx.warning("internet", f"`{call.name}({_show(call.arg(0, 'info_or_id'))})` cannot fetch ({ctx.why()}): "
                    "it prints an error and the data is missing unless the image has it",
                    "ship nltk_data in a dataset and add its folder to nltk.data.path",
                    call.cell, call.line)  # fmt: skip
    elif q in ("spacy.cli.download", "spacy.download"):
        ctx.add("internet", severity, f"`{call.name}(...)` downloads a model: {ctx.why()}",
                _FETCH_FIXES["spacy"], call.cell, call.line)  # fmt: skip
    elif q.startswith("sklearn.datasets.fetch_"):
        ctx.add("internet", severity, f"`{call.name}(...)` downloads its data: {ctx.why()}", UPLOAD,
                call.cell, call.line)  # fmt: skip
    elif q == "wandb.init" and call.kwargs.get("mode") not in ("offline", "disabled"):
        if not ctx.facts.counts.get("WANDB_MODE") and not any("WANDB_MODE" in c.text for c in ctx.commands()):
            ctx.warning("internet", f"`{call.name}()` connects to wandb.ai: {ctx.why()}",
                        "wandb.init(mode='offline') (or WANDB_MODE=offline)", call.cell, call.line)  # fmt: skip
    elif _weights(ctx, call, severity):
        pass
    elif q in _FETCHERS or last in _READERS:
        url = call.arg(0, "url")
        if isinstance(url, str) and is_remote_url(url):
            ctx.add("internet", severity, f"`{call.name}({url!r})` needs the internet: {ctx.why()}", UPLOAD,
                    call.cell, call.line)  # fmt: skip
        elif q in _FETCHERS and url is NOT_LITERAL:
            ctx.warning("internet", f"not seen: `{call.name}(...)` fetches a URL the code computes; "
                        f"remote ones fail ({ctx.why()})", UPLOAD, call.cell, call.line)  # fmt: skip


def _weights(ctx: Context, call: CallFact, severity: str) -> bool:
    """torchvision and Keras models that download their weights."""
    q = call.qualified
    pretrained = call.kwargs.get("pretrained")
    weights = call.kwargs.get("weights", "imagenet" if ".applications." in f".{q}." else None)
    if q.startswith("torchvision.models.") and (pretrained not in (None, False) or weights not in (None, "None")):
        ctx.add("internet", severity, f"`{call.name}(...)` downloads its weights from download.pytorch.org: "
                f"{ctx.why()}", "attach the .pth in a dataset; build with weights=None and load_state_dict",
                call.cell, call.line)  # fmt: skip
        return True
    if ".applications." in f".{q}." and weights == "imagenet":
        ctx.add("internet", severity, f"`{call.name}(...)` downloads its ImageNet weights: {ctx.why()}",
                "attach the .h5 in a dataset and pass weights=PATH (or weights=None)", call.cell, call.line)
        return True
    if pretrained is True and not q.startswith(("timm.", "transformers.")):
        ctx.warning("internet", f"not seen: `{call.name}(..., pretrained=True)` may download weights "
                    f"({ctx.why()})", "load the weights from an attached dataset",
                    call.cell, call.line)  # fmt: skip
        return True
    return False


def _kagglehub(ctx: Context, call: CallFact, severity: str) -> None:
    handle = call.arg(0, "handle")
    kind = call.last.split("_")[0]
    attached = {"model": "model", "dataset": "dataset", "competition": "competition", "notebook": "kernel"}[kind]
    mounts = [m for m in ctx.target.mounts if m.kind == attached]
    if isinstance(handle, str):  # handles are not case-sensitive: kagglehub's "transformers" is "Transformers"
        wanted = handle.strip("/").lower().split("/")
        mounts = [m for m in mounts if _same_handle(wanted, m.source.lower().split("/"))]
    if kind == "competition" and mounts:
        ctx.warning("internet", f"`{call.name}(...)` in a submission breaks its rerun (kagglehub#258)",
                    f"read the mounted files instead: /kaggle/input/{mounts[0].path(ctx.target.layout)}",
                    call.cell, call.line)  # fmt: skip
    elif not mounts:
        ref = handle.rstrip("/") if isinstance(handle, str) else "OWNER/..."
        if kind == "model" and ref.count("/") == 3:  # a model source is one version of the model
            ref += "/VERSION"
        among = "the attached sources" if ctx.target.sources_known else "the sources (none were given)"
        ctx.warning("internet", f"not seen: `{call.name}({_show(handle)})` is not among {among}; "
                    f"fetching it at run time needs Kaggle's proxy ({ctx.why()})",
                    ctx.target.attach_flag(attached, ref), call.cell, call.line)  # fmt: skip


def _same_handle(wanted: list[str], source: list[str]) -> bool:
    """One names the other: a handle without its version is the attached version of it, and the reverse."""
    n = min(len(wanted), len(source))
    return wanted[:n] == source[:n]


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else "..."

"""What the checks recognise in a cell's syntax tree: the calls they look at, literal arguments (and names
whose value is looked up once every cell is read), dotted names, and except handlers that cope with a
missing file."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

NOT_LITERAL: Any = object()  # an argument whose value a static read cannot know


@dataclass(frozen=True)
class Named:
    """An argument that is a name (``MODEL``, ``CFG.model``): its value is looked up once every cell is read."""

    name: str

# The last part of the names of the calls the checks look at (the rest of the name is kept to qualify them).
CALLS = frozenset({
    # internet
    "from_pretrained", "SentenceTransformer", "CrossEncoder", "pipeline", "hf_hub_download", "snapshot_download",
    "load_dataset", "create_model", "load", "load_state_dict_from_url", "download_url_to_file", "download",
    "get_file", "KerasLayer", "urlopen", "urlretrieve", "get", "post", "put", "head", "request", "Request",
    "model_download", "dataset_download", "competition_download", "notebook_output_download",
    "utility_script_install", "package_import", "read_csv", "read_parquet", "read_json", "read_excel",
    "read_table", "read_html", "read_feather", "read_pickle", "read_fwf", "read_xml", "scan_csv",
    "scan_parquet", "open", "init", "fetch_openml", "fetch_california_housing", "fetch_20newsgroups",
    "fetch_covtype", "fetch_kddcup99", "fetch_lfw_people", "fetch_olivetti_faces", "fetch_rcv1",
    "fetch_species_distributions", "fetch_lfw_pairs", "clone_from",
    # torchvision / keras models that fetch weights
    # (matched by their module, see internet.py; their last parts are model names, so not listed here)
    # shell commands from Python
    "system", "popen", "run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput",
    # competition APIs that write the submission themselves
    "serve", "iter_test", "make_env", "run_local_gateway",
    # paths
    "chdir", "append", "insert",
})  # fmt: skip
SHELL_CALLS = frozenset({
    "os.system", "os.popen", "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
    "subprocess.Popen", "subprocess.getoutput", "subprocess.getstatusoutput",
})  # fmt: skip
PROBES = frozenset({"exists", "isdir", "isfile", "lexists", "is_dir", "is_file", "glob", "iglob"})
PATH_CLASSES = frozenset({"Path", "PurePath", "PosixPath"})


MISSING_FILE = frozenset({"Exception", "BaseException", "OSError", "IOError", "EnvironmentError", "FileNotFoundError"})


def copes(handler: ast.ExceptHandler) -> bool:
    """The handler catches a missing file (a bare except, OSError, Exception...) and does not raise again."""
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    catches = caught is None or any(isinstance(n, ast.Name) and n.id in MISSING_FILE for n in names)
    return catches and not all(isinstance(statement, ast.Raise) for statement in handler.body)


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def literal(node: ast.AST) -> Any:
    """The value of a literal argument (strings, numbers, booleans, None, lists/tuples of them)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [literal(e) for e in node.elts]
        return NOT_LITERAL if any(v is NOT_LITERAL for v in values) else values
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = dotted(node)
        if name == "sys.executable":
            return "python"
        return Named(name) if name else NOT_LITERAL
    return NOT_LITERAL

"""The check's test corpus: notebooks, each with the flags it is checked with and the exact findings it must
get, as ``(kind, severity, cell, line)`` (cells from 1, the markdown title cell counted, so the first code
cell is cell 2). A case with no findings is clean and must stay so: a finding more is a failure too.

One case per failure kind the check knows, and clean ones that use every kind of source. Cases that need
files beside the notebook name them in ``files``; ``{bundle}`` in ``args`` is a real bundle holding
kmt-alpha (see ``tests/fixtures_bundle.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

E, W = "error", "warning"
COMP = ["--competition", "comp-x"]
WRITES = "import pandas as pd\npd.DataFrame({'id': [1]}).to_csv('submission.csv', index=False)\n"


@dataclass
class Case:
    name: str
    cells: list[str]
    args: list[str] = field(default_factory=list)
    expect: set[tuple[str, str, int | None, int | None]] = field(default_factory=set)
    files: dict[str, str] = field(default_factory=dict)


CASES = [
    # -- imports ---------------------------------------------------------------------------------------
    Case("import-not-anywhere", ["import numpy as np\nimport polarsx_not_real\n", WRITES], COMP,
         {("import", E, 2, 2)}),
    Case("import-removed-from-stdlib", ["import imp\nimport distutils.version\n", WRITES], COMP,
         {("import", E, 2, 1)}),
    Case("import-beside-the-notebook", ["import helpers\n", WRITES], COMP, {("import", E, 2, 1)},
         files={"helpers.py": "X = 1\n"}),
    Case("import-guarded", ["try:\n    import cupy as xp\nexcept ImportError:\n    import numpy as xp\n", WRITES],
         COMP),
    Case("import-from-written-module", ["%%writefile feats.py\nimport numpy\n", "import feats\n", WRITES], COMP),
    Case("import-bundle-not-seen", ["import kmt_alpha\n", WRITES], [*COMP, "--deps", "me/deps-kernel"],
         {("import", W, 2, 1)}),
    Case("import-bundle-seen", ["import kmt_alpha\nimport kmt_beta\n", WRITES],
         [*COMP, "--deps", "me/deps-kernel", "--bundle", "{bundle}"]),
    Case("import-not-in-the-seen-bundle", ["import kmt_alpha\nimport kmt_gamma\n", WRITES],
         [*COMP, "--deps", "me/deps-kernel", "--bundle", "{bundle}"], {("import", E, 2, 2)}),
    Case("import-bundle-wheel-installed-by-hand",
         ["!pip install --no-deps /kaggle/input/notebooks/me/deps-kernel/kmt_alpha-1.0-py3-none-any.whl\n"
          "import kmt_alpha\n", WRITES], [*COMP, "--attach", "me/deps-kernel", "--bundle", "{bundle}"]),
    Case("import-bundle-never-installed", ["import kmt_alpha\n", WRITES],
         [*COMP, "--attach", "me/deps-kernel", "--bundle", "{bundle}"], {("import", W, 2, 1)}),
    Case("version-check", ["import numpy as np\nassert np.__version__ == '1.26.4'\n", WRITES], COMP,
         {("import", W, 2, 2)}),
    Case("extension-not-in-the-image", ["%load_ext kaggle_magics\n", WRITES], COMP, {("import", E, 2, 1)}),
    Case("magic-without-its-extension", ["%kaggle_install\n", WRITES], COMP, {("import", E, 2, 1)}),
    Case("gpu-kernel-import", ["import triton\n", WRITES], [*COMP, "--gpu"], {("import", W, 2, 1)}),
    Case("cpu-kernel-import", ["import triton\n", WRITES], COMP, {("import", E, 2, 1)}),
    # -- the internet ----------------------------------------------------------------------------------
    Case("pip-install-offline", ["!pip install -q polars==1.2 lightgbm\nimport lightgbm\n", WRITES], COMP,
         {("internet", E, 2, 1)}),
    Case("pip-install-requirements", ["%pip install -r requirements.txt\n", WRITES], COMP, {("internet", E, 2, 1)}),
    Case("pip-install-what-the-image-has", ["!pip install pandas numpy>=1.20\n", WRITES], COMP),
    Case("pip-install-from-attached-files",
         ["!pip install --no-index --find-links /kaggle/input/datasets/me/wheels polarsx\nimport polarsx\n", WRITES],
         [*COMP, "--dataset", "me/wheels"]),
    Case("pip-install-a-wheel-file",
         ["!pip install --no-deps /kaggle/input/datasets/me/wheels/polars_x-1.0-py3-none-any.whl\nimport polars_x\n",
          WRITES], [*COMP, "--dataset", "me/wheels"]),
    Case("pip-install-the-extensions-wheel",
         ["!pip install -q /kaggle/input/datasets/me/km/kaggle_magics-0.1.0-py3-none-any.whl\n%load_ext kaggle_magics\n"
          "%kaggle_freeze polarsx\n"], ["--internet", "--dataset", "me/km"]),
    Case("pip-install-in-a-fallback",
         ["import importlib.util\nif importlib.util.find_spec('polarsx') is None:\n    !pip install polarsx\n", WRITES],
         COMP, {("internet", W, 2, 3)}),
    Case("pip-with-the-internet-on", ["!pip install polarsx\nimport polarsx\n", WRITES], ["--internet"]),
    Case("pip-internet-on-in-a-competition", ["!pip install polarsx\nimport polarsx\n", WRITES],
         [*COMP, "--internet"], {("internet", W, 2, 1), ("metadata", W, None, None)}),
    Case("downloads-in-shell",
         ["!wget -q https://example.com/a.zip\n!git clone https://github.com/x/y\n", "%%bash\ncurl -LO https://x.org/b\n",
          WRITES], COMP, {("internet", E, 2, 1), ("internet", E, 2, 2), ("internet", E, 3, 2)}),
    Case("hub-downloads",
         ["from transformers import AutoModel, AutoTokenizer\n"
          "m = AutoModel.from_pretrained('microsoft/deberta-v3-base')\n"
          "t = AutoTokenizer.from_pretrained('/kaggle/input/models/me/deb/transformers/base/1')\n"
          "g = AutoModel.from_pretrained('gpt2')\n", WRITES],
         [*COMP, "--model", "me/deb/transformers/base/1"], {("internet", E, 2, 2), ("internet", W, 2, 4)}),
    Case("hub-name-in-a-constant",
         ["from transformers import AutoModel\nMODEL = 'org/some-model'\nm = AutoModel.from_pretrained(MODEL)\n",
          WRITES],
         COMP, {("internet", E, 2, 3)}),
    Case("hub-name-saved-locally",
         ["from transformers import AutoModel\nm.save_pretrained('out/best')\nAutoModel.from_pretrained('out/best')\n",
          WRITES], COMP),
    Case("torch-hub-and-weights",
         ["import torch, torchvision\nnet = torch.hub.load('pytorch/vision', 'resnet18')\n"
          "r = torchvision.models.resnet50(weights='IMAGENET1K_V1')\n"
          "ok = torchvision.models.resnet50(weights=None)\n", WRITES],
         COMP, {("internet", E, 2, 2), ("internet", E, 2, 3)}),
    Case("kagglehub-downloads",
         ["import kagglehub\np = kagglehub.model_download('me/deb/transformers/base')\n"
          "q = kagglehub.model_download('someone/else/pytorch/v1')\n", WRITES],
         [*COMP, "--model", "me/deb/transformers/base/1"], {("internet", W, 2, 3)}),
    Case("kagglehub-handle-as-kaggle-spells-it",  # the framework as the model page shows it, the handle in lower case
         ["import kagglehub\np = kagglehub.model_download('me/deb/transformers/base')\n", WRITES],
         [*COMP, "--model", "me/deb/Transformers/base/1"]),
    Case("urls-and-nltk",
         ["import requests, nltk\nr = requests.get('https://example.com/x.csv')\nnltk.download('punkt')\n"
          "local = requests.get('http://localhost:8080/ready')\n", WRITES],
         COMP, {("internet", E, 2, 2), ("internet", W, 2, 3)}),
    # -- paths -----------------------------------------------------------------------------------------
    Case("path-no-source", ["import pandas as pd\ndf = pd.read_csv('/kaggle/input/datasets/bob/data/x.csv')\n", WRITES],
         COMP, {("path", E, 2, 2)}),
    Case("path-flat-layout", ["import pandas as pd\ndf = pd.read_csv('/kaggle/input/comp-x/train.csv')\n", WRITES],
         COMP, {("path", E, 2, 2)}),
    Case("path-nested-in-a-flat-session",
         ["import pandas as pd\ndf = pd.read_csv('/kaggle/input/competitions/comp-x/train.csv')\n", WRITES],
         [*COMP, "--input-layout", "flat"], {("path", E, 2, 2)}),
    Case("path-both-layouts-tried",
         ["import os\nDATA = '/kaggle/input/competitions/comp-x'\nif not os.path.exists(DATA):\n"
          "    DATA = '/kaggle/input/comp-x'\n", WRITES], COMP),
    Case("path-probed", ["import os\nif os.path.exists('/kaggle/input/datasets/bob/extra'):\n    print(1)\n", WRITES],
         COMP, {("path", W, 2, 2)}),
    Case("path-globbed-through-a-name",  # no wheels when the source is not attached, but glob raises nothing
         ["import glob\nWHEELS = '/kaggle/input/notebooks/bob/wheels/**/*.whl'\n"
          "for whl in sorted(glob.glob(WHEELS, recursive=True)):\n    print(whl)\n", WRITES],
         COMP, {("path", W, 2, 2)}),
    Case("path-read-in-a-try",  # the code copes without the file: no FileNotFoundError stops the run
         ["import pandas as pd\ntry:\n    df = pd.read_csv('/kaggle/input/datasets/bob/extra/x.csv')\n"
          "except FileNotFoundError:\n    df = None\n", WRITES],
         COMP, {("path", W, 2, 3)}),
    Case("path-read-in-a-try-through-a-name",
         ["import os\nimport pandas as pd\nRAW = os.path.join('/kaggle/input/datasets/bob/extra/x.csv')\n",
          "try:\n    df = pd.read_csv(RAW)\nexcept Exception as exc:\n    print(exc)\n", WRITES],
         COMP, {("path", W, 2, 3)}),
    Case("path-read-in-a-try-that-raises-again",
         ["import pandas as pd\ntry:\n    df = pd.read_csv('/kaggle/input/datasets/bob/extra/x.csv')\n"
          "except OSError:\n    raise\nexcept ValueError:\n    df = None\n", WRITES],
         COMP, {("path", E, 2, 3)}),
    Case("path-every-source",
         ["import pandas as pd\n"
          "a = pd.read_csv('/kaggle/input/competitions/comp-x/train.csv')\n"
          "b = pd.read_csv('/kaggle/input/datasets/me/extra/extra.csv')\n"
          "c = open('/kaggle/input/notebooks/me/feats-kernel/feats.parquet')\n"
          "d = '/kaggle/input/models/me/deb/pytorch/base/2/model.pt'\n"
          "!ls /kaggle/input/datasets/me/extra\n", WRITES],
         [*COMP, "--dataset", "me/extra", "--attach", "me/feats-kernel", "--model", "me/deb/pyTorch/base/2"]),
    Case("path-without-sources", ["import pandas as pd\ndf = pd.read_csv('/kaggle/input/titanic/train.csv')\n"], [],
         {("path", W, 2, 2)}),
    # -- the submission --------------------------------------------------------------------------------
    Case("submission-not-seen", ["import pandas as pd\npreds = pd.DataFrame()\n"], COMP,
         {("submission", W, None, None)}),
    Case("submission-elsewhere", ["import pandas as pd\npd.DataFrame().to_csv('/tmp/submission.csv')\n"], COMP,
         {("submission", W, 2, 2)}),
    Case("submission-in-a-subfolder",  # Kaggle reads /kaggle/working/submission.csv only
         ["import os\nimport pandas as pd\nOUT = 'outputs'\nos.makedirs(OUT, exist_ok=True)\n",
          "pd.DataFrame({'id': [1]}).to_csv(os.path.join(OUT, 'submission.csv'), index=False)\n"],
         COMP, {("submission", W, 3, 1)}),
    Case("submission-in-a-folder-named-at-run-time",
         ["import os, sys\nimport pandas as pd\nout = sys.argv[0]\n",
          "pd.DataFrame({'id': [1]}).to_csv(os.path.join(out, 'submission.csv'), index=False)\n"], COMP),
    Case("submission-by-the-api",
         ["import kaggle_evaluation.default_inference_server as ks\nserver = ks.DefaultInferenceServer(print)\n"
          "server.serve()\n"], COMP, {("import", W, 2, 1)}),
    Case("no-competition-no-submission", ["print('training only')\n"], []),
    # -- the notebook itself ---------------------------------------------------------------------------
    Case("syntax-newer-than-here", ["type Vector = list[float]\n", WRITES], COMP, {("notebook", W, 2, None)}),
    Case("cell-magics-read-for-what-they-are", ["%%time\nimport numpy\n", "%%capture\n!pip list\n", WRITES], COMP),
    # -- clean: the demo's submission cell (the %%kaggle_sub workflow of `kaggle-magics demo`) ----------------
]
CASES.append(
    Case("local-gateway-in-the-else-branch",
         ["import os\nimport kaggle_evaluation.jane_street_inference_server as js\n"
          "server = js.JSInferenceServer(print)\nif os.getenv('KAGGLE_IS_COMPETITION_RERUN'):\n    server.serve()\n"
          "else:\n    server.run_local_gateway(('/kaggle/input/comp-x/test.parquet',))\n"],
         COMP, {("import", W, 2, 2), ("path", W, 2, 7)}),
)  # fmt: skip

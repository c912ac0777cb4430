"""``kaggle-magics check`` / ``%kaggle_check``: will this notebook survive Kaggle? A static answer, before any
push or run.

One module per part:

``findings``  the findings model, and the report (text, HTML, JSON)
``files``     what is checked: kernel folders, notebooks, percent-format scripts; folders walked
``metadata``  kernel-metadata.json as push validates it; a bare notebook's metadata from the flags
``target``    the kernel as Kaggle runs it: base image list, input layout, attached sources and their files
``facts``     what the checks read from the code, gathered in the scan's single pass over each cell
``context``   what every check reads and writes
``imports``   every import resolved: standard library, image, bundle, attached source, the notebook
``internet``  pip installs, downloads, hubs and URLs with the internet off
``shell``     shell lines read for what they fetch (pip's requirements, wget, git clone...)
``paths``     /kaggle/input paths against the attached sources and today's layout
``outputs``   the submission file of a competition kernel
``runner``    a check from start to end
``current``   the notebook ``%kaggle_check`` runs in (its file, or the shell's history)

Importing this package imports none of them.
"""

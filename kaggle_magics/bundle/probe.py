"""Run inside a target interpreter: what it is, what it accepts, what it has, and what it lacks.

The installer runs this file's source with the target interpreter (``python -c``), passing on stdin the
requirements to check and where ``packaging`` can be imported from (the target may lack it: a fresh venv).
``packaging`` is imported first and its path removed again before installed distributions are listed, so only
the target's own packages are seen. Prints one JSON object.

Keep this file importable on old Pythons (3.8+) and free of kaggle_magics imports.
"""

import json
import sys


def unsatisfied(requirements, env):
    """Requirements (and their installed dependencies, recursively) that the environment does not meet.

    A walk over what is installed, not a resolver: every requirement must name an installed distribution
    whose version it accepts, and so must each dependency that the distribution declares for the chosen
    extras under this interpreter's markers.
    """
    import importlib.metadata as md

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    installed = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name:
            installed.setdefault(canonicalize_name(name), dist)

    missing = []
    seen = set()
    todo = []
    for text in requirements:
        try:
            todo.append((Requirement(text), ("",)))
        except InvalidRequirement:
            missing.append(text)
    while todo:
        req, extras = todo.pop()
        if req.marker is not None and not any(
            req.marker.evaluate(dict(env, extra=extra)) for extra in extras
        ):
            continue
        name = canonicalize_name(req.name)
        dist = installed.get(name)
        if dist is None:
            missing.append(str(req))
            continue
        if req.specifier and not req.specifier.contains(dist.version, prereleases=True):
            missing.append(f"{req} (has {dist.version})")
            continue
        key = (name, tuple(sorted(req.extras)))
        if key in seen:
            continue
        seen.add(key)
        wanted = ("", *sorted(canonicalize_name(e) for e in req.extras))
        for line in dist.requires or ():
            try:
                todo.append((Requirement(line), wanted))
            except InvalidRequirement:
                continue
    return missing, {n: d.version for n, d in installed.items()}


def layered(own):
    """Installed distributions that live outside the interpreter's own site-packages (``own``): folders a
    ``.pth`` file or the environment adds to sys.path, as a venv layered over another one has them. Python and
    pip see them; uv does not (it reads the interpreter's site-packages only)."""
    import importlib.metadata as md
    import os

    from packaging.utils import canonicalize_name

    found = set()
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name and os.path.realpath(str(dist.locate_file(""))) not in own:
            found.add(canonicalize_name(name))
    return sorted(found)


def probe(requirements, packaging_path=None):
    import importlib.util
    import os
    import sysconfig

    if packaging_path:
        sys.path.insert(0, packaging_path)
    try:
        import packaging.markers
        import packaging.requirements
        import packaging.specifiers
        import packaging.tags
        import packaging.utils
        import packaging.version
    finally:
        if packaging_path and packaging_path in sys.path:
            sys.path.remove(packaging_path)
    env = packaging.markers.default_environment()
    missing, installed = unsatisfied(requirements, env)
    paths = sysconfig.get_paths()
    own = {os.path.realpath(p) for p in (paths.get("purelib"), paths.get("platlib")) if p}
    stdlib = paths.get("stdlib", "")
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    return {
        "executable": sys.executable,
        "python_version": "{}.{}".format(*sys.version_info[:2]),
        "python_full_version": "{}.{}.{}".format(*sys.version_info[:3]),
        "implementation": sys.implementation.name,
        "tags": [str(t) for t in packaging.tags.sys_tags()],
        "marker_env": env,
        "installed": installed,
        "layered": layered(own),
        "unsatisfied": missing,
        "purelib": paths.get("purelib"),
        "scripts": paths.get("scripts"),
        "prefix": sys.prefix,
        "has_pip": importlib.util.find_spec("pip") is not None,
        "externally_managed": bool(
            not in_venv and stdlib and os.path.exists(os.path.join(stdlib, "EXTERNALLY-MANAGED"))
        ),
    }


def main():
    if sys.path and sys.path[0] in ("", "."):
        sys.path.pop(0)  # python -c puts the working folder first: its contents are not installed packages
    request = json.loads(sys.stdin.read() or "{}")
    result = probe(request.get("requirements", []), request.get("packaging_path"))
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The module graph of a Rust crate, from its own `use` lines and paths, and its import circles.

    python3 tests/tools/modgraph.py tracking-server [--edges] [--check]

A node is a source file (`store/sql/runs.rs` is `store::sql::runs`). An edge A -> B means A names
an item that B defines, through `crate::…`, `super::…`, `self::…` or a child module's name. A
`pub use` in a module that only re-exports (a facade such as `lib.rs` or `store/mod.rs`) is
followed to the file that defines the item, so a facade does not tie its children into a circle.
`#[cfg(test)]` files (`*_tests.rs`, `tests.rs`) are left out: tests may look anywhere.

Why not `cargo modules`: it builds rust-analyzer (tens of minutes on two cores) to answer a
question that the source text answers. What this cannot see: macros that expand to paths, and
glob imports (`use super::*`), which count as an edge to the whole parent module.

`--check` exits 1 when there is a circle, or when a module imports one in a layer above its own
(the structure rules in ARCHITECTURE.md; the layers of each crate are listed in LAYERS below,
lowest first, and a module belongs to the layer of its longest listed prefix).
"""
import re
import sys
from pathlib import Path

PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_RE = re.compile(r"\buse\s+([^;]+);", re.S)
MOD_RE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", re.M)


# Lowest first. A module may import its own layer and the ones below, never one above.
LAYERS = {
    "tracking-server": [
        # vocabulary and pure functions
        ["calendar", "search", "webhooks::crypto", "webhooks::events", "auth::credentials"],
        # storage, which knows no HTTP
        ["store"],
        # MLflow's error model, and the rules and resources it reports on
        ["error", "validation", "uri", "artifacts", "artifacts_object", "webhooks", "config"],
        # cross-cutting request machinery
        ["auth", "ops", "extract"],
        # what handlers share
        ["state"],
        # rules both front ends apply
        ["service", "artifact_source"],
        # the two front ends
        ["routes", "ui"],
        # assembly
        ["startup"],
    ],
    "drift": [
        # vocabulary: the column model and the errors
        ["error", "data"],
        # one side of one column, then the tests on it and the options that pick them
        ["summary"],
        ["stats", "options"],
        # the domain classifier and its seeded row samples
        ["multivariate"],
        # what a run reads (profiles) and writes (reports)
        ["profile", "report"],
        # the run itself
        ["detect"],
        # files in
        ["io"],
    ],
    "cli": [
        # leaves: exit codes, file writes, the run helper, environment snapshot and defaults
        ["exit", "fs", "tracked_run", "settings::environment", "settings::defaults"],
        # clap's argument types (they name the defaults)
        ["cli"],
        # settings resolved from arguments and environment, and logging set up from them
        ["settings", "telemetry"],
        # what several commands share, and the parts of `monitor` that know nothing of runs or scoring
        ["commands::metric_keys", "commands::model_source", "commands::reference", "commands::score_log",
         "commands::webhook", "commands::monitor::batches", "commands::monitor::expect",
         "commands::monitor::state", "commands::monitor::stable"],
        # one module per command; the dispatch in lib.rs sits above all
        ["commands"],
    ],
}


def layer_of(path: tuple, layers):
    best, best_len = None, -1
    for i, names in enumerate(layers):
        for n in names:
            segs = tuple(n.split("::"))
            if path[: len(segs)] == segs and len(segs) > best_len:
                best, best_len = i, len(segs)
    return best


def module_files(src: Path):
    """module path (tuple) -> file, for every file reachable from lib.rs / main.rs."""
    mods = {}

    def visit(path: tuple, file: Path):
        mods[path] = file
        text = strip_comments(file.read_text())
        base = file.parent if file.name in ("mod.rs", "lib.rs", "main.rs") else file.with_suffix("")
        for m in MOD_RE.finditer(text):
            name = m.group(1)
            for cand in (base / f"{name}.rs", base / name / "mod.rs"):
                if cand.exists():
                    if is_test_file(cand):
                        break
                    visit(path + (name,), cand)
                    break

    root = src / "lib.rs" if (src / "lib.rs").exists() else src / "main.rs"
    visit((), root)
    return mods


def is_test_file(p: Path) -> bool:
    return p.name == "tests.rs" or p.stem.endswith("_tests")


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    # Drop inline test modules: everything from `#[cfg(test)]` followed by `mod`.
    m = re.search(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*mod\s+\w+\s*\{", text)
    if m:
        text = text[: m.start()]
    return text


def expand_use(tree: str):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)

    def split_top(s):
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        return parts

    out = []
    i = tree.find("{")
    if i < 0:
        return [re.sub(r"as\w+$", "", tree)] if tree else []
    prefix, inner = tree[:i], tree[i + 1 : tree.rfind("}")]
    for part in split_top(inner):
        for sub in expand_use(part):
            out.append(prefix + sub if sub != "self" else prefix.rstrip(":"))
    return out


def references(text: str):
    """Every path this file names, as written (`crate::x::y`, `super::z`, `child::w`)."""
    refs = []
    for m in USE_RE.finditer(text):
        for p in expand_use(m.group(1)):
            refs.append(p.replace(" ", ""))
    body = USE_RE.sub("", text)
    for m in PATH_RE.finditer(body):
        refs.append(m.group(1) + m.group(2))
    return refs


def reexports(mods):
    """(module path, item name) -> absolute path it re-exports, from `pub use`."""
    out = {}
    for path, file in mods.items():
        text = strip_comments(file.read_text())
        for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
            for p in expand_use(m.group(1)):
                name = p.split("::")[-1]
                out[(path, name)] = absolutize(path, p, mods)
    return out


def absolutize(here: tuple, p: str, mods):
    segs = [s for s in p.split("::") if s]
    if not segs:
        return None
    cur = list(here)
    if segs[0] == "crate":
        cur, segs = [], segs[1:]
    elif segs[0] in ("super", "self"):
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                cur = cur[:-1]
            segs = segs[1:]
    elif tuple(cur + [segs[0]]) in mods:
        pass
    else:
        return None  # an external crate or a local name
    return tuple(cur) + tuple(segs)


def resolve(abs_path, mods, rex, depth=0):
    """The file module that defines what `abs_path` names."""
    best = ()
    for i in range(len(abs_path), -1, -1):
        if tuple(abs_path[:i]) in mods:
            best = tuple(abs_path[:i])
            break
    rest = abs_path[len(best) :]
    if rest and depth < 8 and (best, rest[0]) in rex and rex[(best, rest[0])]:
        target = rex[(best, rest[0])] + tuple(rest[1:])
        return resolve(target, mods, rex, depth + 1)
    return best


def graph(src: Path):
    mods = module_files(src)
    rex = reexports(mods)
    edges = {m: set() for m in mods}
    for path, file in mods.items():
        text = strip_comments(file.read_text())
        for r in references(text):
            a = absolutize(path, r, mods)
            if a is None:
                continue
            target = resolve(a, mods, rex)
            if target != path:
                edges[path].add(target)
    return mods, edges


def sccs(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            strong(v)
    return out


def name(p):
    return "::".join(p) or "<root>"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    crate = Path(args[0] if args else ".")
    src = crate / "src"
    mods, edges = graph(src)
    if "--edges" in sys.argv:
        for m in sorted(edges):
            print(f"{name(m)} -> {', '.join(sorted(name(t) for t in edges[m])) or '-'}")
    circles = sccs(edges)
    print(f"{crate.name}: {len(mods)} modules, {sum(len(e) for e in edges.values())} edges, "
          f"{len(circles)} circle(s)")
    for c in circles:
        print(f"  circle of {len(c)}: {', '.join(name(m) for m in c)}")
    upward = []
    layers = LAYERS.get(crate.resolve().name)
    if layers:
        for a, targets in edges.items():
            la = layer_of(a, layers)
            for b in targets:
                lb = layer_of(b, layers)
                if la is not None and lb is not None and lb > la:
                    upward.append((a, b))
        print(f"  {len(upward)} import(s) of a higher layer")
        for a, b in sorted(upward):
            print(f"  upward: {name(a)} -> {name(b)}")
    if "--check" in sys.argv and (circles or upward):
        sys.exit(1)


if __name__ == "__main__":
    main()

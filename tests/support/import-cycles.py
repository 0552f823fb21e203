#!/usr/bin/env python3
"""Lists import circles between the files of src/: each file's references to
other modules of the crate (`crate::a::b`, `super::x`, `self::x`, grouped
`use super::{a, b}` included; `mod x;` declarations are not references) are
resolved to the file that defines the module, and the strongly connected
components of more than one file are printed. Also prints what src/proxy/
reads from outside itself. Exit status 1 when a circle exists.

Usage: tests/support/import-cycles.py [SRC_DIR]
"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "src")
src = os.path.normpath(src)

files = {}
for root, _, names in os.walk(src):
    for n in names:
        if n.endswith(".rs"):
            path = os.path.join(root, n)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                rel = []
            files[tuple(rel)] = path

def file_of(module):
    """The file defining the longest prefix of `module` that is a file."""
    m = tuple(module)
    while m not in files and m:
        m = m[:-1]
    return m if m in files else None

def strip(text):
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    # Visibility, not a path: `pub(super)`, `pub(in crate::x)`.
    text = re.sub(r"pub\((super|self|crate|in [^)]*)\)", "pub", text)
    # Test modules are not part of the library's shape.
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
    return text[: cut.start()] if cut else text

edges = {}
for mod, path in files.items():
    text = strip(open(path, encoding="utf-8").read())
    is_dir = path.endswith("mod.rs") or path.endswith("lib.rs") or path.endswith("main.rs")
    here = list(mod)
    parent = here if is_dir else here[:-1]
    targets = set()
    def add(base, rest):
        full = base + [p for p in rest if p]
        f = file_of(full)
        if f is not None and f != mod:
            targets.add(f)
    for m in re.finditer(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)(::\{([^{}]*)\})?", text):
        head, tail, group = m.group(1), m.group(2), m.group(4)
        parts = [p for p in tail.split("::") if p]
        if head == "crate":
            base = []
        elif head == "super":
            base = parent[:-1] if is_dir else parent[:-1] if False else parent
            # `super` of a file a/b.rs is module a; of a/b/mod.rs it is module a too.
            base = list(mod[:-1])
            while parts and parts[0] == "super":
                base = base[:-1]
                parts = parts[1:]
        else:
            base = list(mod)
        if group is not None:
            for item in group.split(","):
                item = item.strip().split(" as ")[0]
                if item and item != "self":
                    add(base + parts, item.split("::")[:1])
                elif item == "self":
                    add(base, parts)
        else:
            add(base, parts)
    # `use child::...` (2018 paths): a module's own submodules, by bare name.
    here_dir = list(mod) if is_dir else list(mod)
    for m in re.finditer(r"\buse\s+([A-Za-z_][A-Za-z0-9_]*)::", text):
        first = m.group(1)
        if first in ("crate", "super", "self", "std", "core", "alloc"):
            continue
        child = tuple(here_dir + [first])
        if child in files and child != mod:
            targets.add(child)
    edges[mod] = targets

# Tarjan's strongly connected components.
index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            visit(w)
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
        comps.append(comp)
sys.setrecursionlimit(10000)
for v in files:
    if v not in index:
        visit(v)

def name(m):
    return os.path.relpath(files[m], os.path.dirname(src))

circles = [c for c in comps if len(c) > 1]
for c in circles:
    print("circle:", " <-> ".join(sorted(name(m) for m in c)))
outside = sorted({name(t) for m, ts in edges.items() if m[:1] == ("proxy",) for t in ts if t[:1] != ("proxy",) and t != ()})
print("src/proxy reads from outside itself:", ", ".join(outside) if outside else "nothing")
print(f"{len(files)} files, {sum(len(t) for t in edges.values())} references between them, {len(circles)} circles")
sys.exit(1 if circles else 0)
